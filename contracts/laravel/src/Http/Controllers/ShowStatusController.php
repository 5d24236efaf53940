<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Wagateway\Laravel\Models\WhatsappAccount;

/** GET /api/whatsapp/status/{sessionId}: what Laravel has for one session. */
class ShowStatusController
{
    public function __invoke(string $sessionId): JsonResponse
    {
        $account = preg_match('/^[A-Za-z0-9_-]{1,64}$/', $sessionId)
            ? WhatsappAccount::query()->where('session_id', $sessionId)->first()
            : null;
        if ($account === null) {
            return response()->json(['message' => SingleAnswer::NOT_FOUND], 404);
        }

        $last = $account->last_status_update;

        return response()->json([
            'session_id' => $account->session_id,
            'estado_qr' => $account->estado_qr,
            'last_status_update' => $last === null ? null : $last->utc()->format('Y-m-d\TH:i:s.v\Z'),
        ]);
    }
}
