<?php

namespace App\Support;

/**
 * Without Composer (Debian's Laravel, no vendor/), this stands in for what
 * `composer install` does with the path repositories of composer.json: it
 * reads each package's own composer.json for its PSR-4 map (autoloading)
 * and its extra.laravel.providers (package discovery). With Composer, none
 * of this runs: vendor/autoload.php and Laravel's discovery do the same.
 */
final class PathPackages
{
    /** @return array<string, string> namespace prefix => absolute directory */
    public static function psr4(string $appBase, bool $dev): array
    {
        $map = [];
        foreach (self::composerFiles($appBase) as $dir => $composer) {
            $sections = $dev ? ['autoload', 'autoload-dev'] : ['autoload'];
            foreach ($sections as $section) {
                foreach ($composer[$section]['psr-4'] ?? [] as $prefix => $path) {
                    $map[$prefix] = $dir.'/'.rtrim($path, '/');
                }
            }
        }

        return $map;
    }

    /** @return array<int, string> the packages' service providers */
    public static function providers(string $appBase): array
    {
        $providers = [];
        foreach (self::composerFiles($appBase) as $dir => $composer) {
            if ($dir === $appBase) {
                continue;
            }
            foreach ($composer['extra']['laravel']['providers'] ?? [] as $provider) {
                $providers[] = $provider;
            }
        }

        return $providers;
    }

    /** @return array<string, array> directory => decoded composer.json, the app first */
    private static function composerFiles(string $appBase): array
    {
        $app = json_decode(file_get_contents($appBase.'/composer.json'), true);
        $files = [$appBase => $app];
        foreach ($app['repositories'] ?? [] as $repo) {
            if (($repo['type'] ?? '') !== 'path') {
                continue;
            }
            $dir = realpath($appBase.'/'.$repo['url']);
            if ($dir !== false && is_file($dir.'/composer.json')) {
                $files[$dir] = json_decode(file_get_contents($dir.'/composer.json'), true);
            }
        }

        return $files;
    }
}
