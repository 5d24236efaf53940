<?php

namespace Wagateway\Laravel\Http\Middleware;

use Closure;
use Illuminate\Http\Request;

/**
 * Requires `Authorization: Bearer <wagateway.token>` when a token is
 * configured; with none configured, asks for none.
 */
class VerifyBearerToken
{
    public function handle(Request $request, Closure $next)
    {
        $token = (string) config('wagateway.token');
        if ($token !== '' && ! hash_equals($token, (string) $request->bearerToken())) {
            return response()->json(['message' => 'Unauthenticated.'], 401);
        }

        return $next($request);
    }
}
