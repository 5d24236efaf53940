<?php

namespace Wagateway\Laravel;

use Illuminate\Contracts\Foundation\Application;

/**
 * What the pact's provider states leave behind between requests (each PHP
 * request starts from scratch): only "autocreate is off", kept as a file.
 */
class ProviderStates
{
    public static function autocreateIsOff(Application $app): bool
    {
        return $app['config']->get('wagateway.provider_states') && is_file(self::autocreateOffFlag($app));
    }

    public static function autocreateOffFlag(Application $app): string
    {
        return $app->storagePath().'/framework/wagateway-autocreate-off';
    }
}
