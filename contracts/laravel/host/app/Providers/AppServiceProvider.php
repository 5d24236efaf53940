<?php

namespace App\Providers;

use App\Support\PathPackages;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function register()
    {
        // Package discovery without Composer: register what the path
        // packages list in extra.laravel.providers. With Composer, Laravel
        // has discovered them already.
        if (! is_file($this->app->basePath('vendor/autoload.php'))) {
            foreach (PathPackages::providers($this->app->basePath()) as $provider) {
                $this->app->register($provider);
            }
        }
    }

    public function boot()
    {
        //
    }
}
