<?php

namespace Wagateway\Laravel\Http\Middleware;

use Closure;
use Illuminate\Http\Request;

/**
 * Refuses a body that is not JSON: 415 for another content type, 400 for
 * malformed JSON. Laravel alone would read either as an empty input and
 * answer 422 "field is required", which hides the real mistake.
 */
class RequireJsonBody
{
    public function handle(Request $request, Closure $next)
    {
        if (! $request->isJson()) {
            return response()->json(['message' => 'Unsupported Media Type: send Content-Type: application/json.'], 415);
        }
        json_decode($request->getContent());
        if (json_last_error() !== JSON_ERROR_NONE) {
            return response()->json(['message' => 'Malformed JSON: '.json_last_error_msg()], 400);
        }

        return $next($request);
    }
}
