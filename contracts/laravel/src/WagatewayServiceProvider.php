<?php

namespace Wagateway\Laravel;

use Illuminate\Support\ServiceProvider;

/**
 * Registers the gateway's five endpoints, their config and migrations.
 * Discovered through composer.json's extra.laravel.providers.
 */
class WagatewayServiceProvider extends ServiceProvider
{
    public function register()
    {
        $this->mergeConfigFrom(__DIR__.'/../config/wagateway.php', 'wagateway');

        $this->app->bind(AccountUpdater::class, function ($app) {
            $autocreate = (bool) $app['config']->get('wagateway.autocreate')
                && ! ProviderStates::autocreateIsOff($app);

            return new AccountUpdater($app['db']->connection(), $autocreate);
        });
    }

    public function boot()
    {
        if ($this->app->runningInConsole()) {
            $this->publishes([
                __DIR__.'/../config/wagateway.php' => config_path('wagateway.php'),
            ], 'wagateway-config');
            $this->publishes([
                __DIR__.'/../database/migrations' => database_path('migrations'),
            ], 'wagateway-migrations');
        }

        if ($this->app['config']->get('wagateway.load_migrations')) {
            $this->loadMigrationsFrom(__DIR__.'/../database/migrations');
        }

        $this->loadRoutesFrom(__DIR__.'/../routes/api.php');
    }
}
