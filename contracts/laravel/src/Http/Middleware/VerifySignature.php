<?php

namespace Wagateway\Laravel\Http\Middleware;

use Closure;
use Illuminate\Http\Request;
use Illuminate\Support\Carbon;
use RuntimeException;

/**
 * Verifies the gateway's signatures when wagateway.signing_secret is set:
 * the Standard Webhooks triple (webhook-id, webhook-timestamp,
 * webhook-signature = "v1,<base64 HMAC-SHA256 of id.timestamp.body>") and
 * spatie's Signature (hex HMAC-SHA256 of the body). Both must be valid and
 * the timestamp within the tolerance (5 minutes), which refuses replays of
 * captured requests.
 *
 * Keys: a "whsec_<base64>" secret is its decoded bytes for the Standard
 * Webhooks MAC (that spec), and the configured string as is for Signature
 * (what spatie/laravel-webhook-client hashes with).
 */
class VerifySignature
{
    public function handle(Request $request, Closure $next)
    {
        $secret = (string) config('wagateway.signing_secret');
        if ($secret === '') {
            return $next($request);
        }
        $reason = $this->refusal($request, $secret);
        if ($reason !== null) {
            return response()->json(['message' => 'Invalid signature: '.$reason], 401);
        }

        return $next($request);
    }

    /** Why the request's signature is refused, or null when it is valid. */
    private function refusal(Request $request, string $secret): ?string
    {
        $id = (string) $request->header('webhook-id');
        $timestamp = (string) $request->header('webhook-timestamp');
        $signatures = (string) $request->header('webhook-signature');
        if ($id === '' || $timestamp === '' || $signatures === '') {
            return 'webhook-id, webhook-timestamp and webhook-signature are required';
        }
        if (! ctype_digit($timestamp)) {
            return 'webhook-timestamp is not unix seconds';
        }
        $tolerance = (int) config('wagateway.signature_tolerance', 300);
        if (abs(Carbon::now()->getTimestamp() - (int) $timestamp) > $tolerance) {
            return 'webhook-timestamp is more than '.intdiv($tolerance, 60).' minutes away from now';
        }

        $body = $request->getContent();
        $expected = base64_encode(hash_hmac('sha256', $id.'.'.$timestamp.'.'.$body, $this->webhookKey($secret), true));
        $matched = false;
        // Several space-separated signatures may come (key rotation); one valid v1 is enough.
        foreach (preg_split('/\s+/', trim($signatures)) as $signature) {
            $parts = explode(',', $signature, 2);
            if (count($parts) === 2 && $parts[0] === 'v1' && hash_equals($expected, $parts[1])) {
                $matched = true;
            }
        }
        if (! $matched) {
            return 'webhook-signature does not match';
        }

        if (! hash_equals(hash_hmac('sha256', $body, $secret), strtolower((string) $request->header('Signature')))) {
            return 'the Signature header does not match';
        }

        return null;
    }

    private function webhookKey(string $secret): string
    {
        if (strncmp($secret, 'whsec_', 6) !== 0) {
            return $secret;
        }
        $key = base64_decode(substr($secret, 6), true);
        if ($key === false || $key === '') {
            throw new RuntimeException('wagateway.signing_secret starts with whsec_ but the rest is not base64');
        }

        return $key;
    }
}
