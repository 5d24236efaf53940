<?php

// The gateway's endpoints (php artisan vendor:publish --tag=wagateway-config).
return [

    // Bearer token the gateway sends (its LARAVEL_TOKEN). Empty: /api asks for none.
    'token' => env('WAGATEWAY_TOKEN', ''),

    // The gateway's LARAVEL_SIGNING_SECRET. Set: every request must carry valid
    // Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature)
    // and spatie's Signature, with a timestamp at most `signature_tolerance`
    // seconds from now. Empty: signatures are not checked.
    'signing_secret' => env('WAGATEWAY_SIGNING_SECRET', ''),
    'signature_tolerance' => 300,

    // An unknown session_id creates its account (true) or counts as failed (false).
    'autocreate' => (bool) env('WAGATEWAY_AUTOCREATE', true),

    // Route prefix and extra middleware of the five endpoints. Leave Laravel's
    // `throttle:api` out: the gateway sends bursts by design (it batches).
    'prefix' => 'api',
    'middleware' => [],

    // Load the package's migrations without publishing them. Set false after
    // `vendor:publish --tag=wagateway-migrations` if you want to edit them.
    'load_migrations' => true,

    // How long an Idempotency-Key's first answer is kept (hours).
    'idempotency_hours' => 24,

    // POST /_pact/provider-states for `make verify-laravel`. Never in production.
    'provider_states' => env('PROVIDER_STATES') === '1',
];
