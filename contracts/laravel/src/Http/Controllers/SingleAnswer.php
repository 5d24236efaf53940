<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;

/** The answer of a one-item endpoint: 200 {"success": true}, or 404 for an unknown account. */
final class SingleAnswer
{
    public const NOT_FOUND = 'WhatsApp account not found.';

    /** @param array{updated: int, failed: int} $result */
    public static function of(array $result): JsonResponse
    {
        if ($result['failed'] > 0) {
            return response()->json(['message' => self::NOT_FOUND], 404);
        }

        return response()->json(['success' => true]);
    }
}
