<?php

/*
| With Composer: vendor/autoload.php (the package comes from the path
| repository in composer.json, its provider from Laravel's discovery).
|
| Without Composer: Debian's Laravel autoloader, plus a PSR-4 loader built
| from the autoload maps of composer.json and of the packages its path
| repositories point at (App\Support\PathPackages).
*/

$base = dirname(__DIR__);

if (is_file($base.'/vendor/autoload.php')) {
    require $base.'/vendor/autoload.php';

    return;
}

require_once 'Illuminate/autoload.php';
require_once $base.'/app/Support/PathPackages.php';

(static function (array $map): void {
    spl_autoload_register(static function (string $class) use ($map): void {
        foreach ($map as $prefix => $dir) {
            if (strncmp($class, $prefix, strlen($prefix)) === 0) {
                $file = $dir.'/'.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
                if (is_file($file)) {
                    require $file;

                    return;
                }
            }
        }
    });
})(App\Support\PathPackages::psr4($base, true));
