<?php

namespace App\Http\Middleware;

use Closure;
use Illuminate\Http\Request;

/**
 * Adds `Server-Timing: app;dur=<ms>`: this request's time in PHP, from the
 * first line of public/index.php (framework boot included) to the answer.
 * The load test reads it (make loadtest-laravel); it is the host app's
 * instrument, not part of the package.
 */
class ServerTiming
{
    public function handle(Request $request, Closure $next)
    {
        $response = $next($request);
        if (defined('LARAVEL_START')) {
            $response->headers->set('Server-Timing', sprintf('app;dur=%.3f', (microtime(true) - LARAVEL_START) * 1000));
        }

        return $response;
    }
}
