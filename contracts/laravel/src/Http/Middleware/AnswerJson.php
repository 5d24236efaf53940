<?php

namespace Wagateway\Laravel\Http\Middleware;

use Closure;
use Illuminate\Http\Request;

/**
 * Makes every answer JSON, errors included. Laravel renders a failed
 * validation as a 302 redirect unless the client asks for JSON, and the
 * checklist's curl examples send no Accept header.
 */
class AnswerJson
{
    public function handle(Request $request, Closure $next)
    {
        $request->headers->set('Accept', 'application/json');

        return $next($request);
    }
}
