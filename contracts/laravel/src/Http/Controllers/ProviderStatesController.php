<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;
use Illuminate\Support\Carbon;
use Illuminate\Support\Facades\DB;
use Wagateway\Laravel\Http\Middleware\RememberIdempotencyKey;
use Wagateway\Laravel\ProviderStates;

/**
 * POST /_pact/provider-states: the Pact verifier's set-up and teardown of
 * each interaction (contracts/README.md, "Provider states"). Registered only
 * with PROVIDER_STATES=1; it empties the gateway's tables.
 */
class ProviderStatesController
{
    public function __invoke(Request $request): JsonResponse
    {
        $state = (string) $request->input('state', '');
        $params = (array) $request->input('params', []);

        if ($request->input('action') === 'teardown' || $state === '') {
            $this->reset();

            return response()->json((object) []);
        }
        if ($state === 'autocreate is off') {
            touch(ProviderStates::autocreateOffFlag(app()));
        } elseif ($state === 'a token is required') {
            if ((string) config('wagateway.token') === '') {
                return response()->json(['message' => 'state "a token is required": set WAGATEWAY_TOKEN (and make verify-laravel LARAVEL_TOKEN=…)'], 400);
            }
        } elseif (preg_match('/^account (\S+) exists$/', $state, $m)) {
            $this->putAccount($m[1], $params);
        } elseif (preg_match('/^no account (\S+)$/', $state, $m)) {
            DB::table('whatsapp_accounts')->where('session_id', $m[1])->delete();
        } else {
            return response()->json(['message' => 'unknown provider state "'.$state.'"'], 400);
        }

        return response()->json((object) []);
    }

    private function reset(): void
    {
        DB::table('whatsapp_status_history')->delete();
        DB::table('whatsapp_accounts')->delete();
        DB::table(RememberIdempotencyKey::TABLE)->delete();
        @unlink(ProviderStates::autocreateOffFlag(app()));
    }

    private function putAccount(string $id, array $params): void
    {
        $now = Carbon::now('UTC')->format('Y-m-d H:i:s.v');
        $last = isset($params['last_status_update'])
            ? Carbon::parse($params['last_status_update'])->utc()->format('Y-m-d H:i:s.v')
            : null;
        DB::table('whatsapp_accounts')->updateOrInsert(['session_id' => $id], [
            'estado_qr' => $params['estado_qr'] ?? 'pending',
            'last_status_update' => $last,
            'created_at' => $now,
            'updated_at' => $now,
        ]);
    }
}
