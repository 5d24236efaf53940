<?php

namespace Wagateway\Laravel\Http\Middleware;

use Closure;
use Illuminate\Http\Request;
use Illuminate\Support\Carbon;
use Illuminate\Support\Facades\DB;
use Symfony\Component\HttpFoundation\Response;
use Throwable;

/**
 * Answers a replayed Idempotency-Key with the stored first answer and
 * changes nothing. The key is claimed, the request handled and its answer
 * stored in one transaction, so a concurrent retry waits for the first
 * answer instead of applying the batch twice; a 5xx is rolled back, so the
 * retry is processed for real.
 */
class RememberIdempotencyKey
{
    public const TABLE = 'wagateway_idempotency_keys';

    public function handle(Request $request, Closure $next)
    {
        $key = (string) $request->header('Idempotency-Key');
        if ($key === '' || strlen($key) > 64) {
            return $next($request);
        }
        $endpoint = $request->method().' '.$request->route()->uri();
        $where = ['endpoint' => $endpoint, 'idempotency_key' => $key];
        $db = DB::connection();

        $db->beginTransaction();
        try {
            // A write first: on SQLite it takes the write lock before any read,
            // so two writers never deadlock upgrading a read snapshot.
            $claimed = $db->table(self::TABLE)->insertOrIgnore($where + [
                'created_at' => Carbon::now('UTC')->format('Y-m-d H:i:s.v'),
            ]);
            if ($claimed === 0) {
                $stored = $db->table(self::TABLE)->where($where)->first();
                $db->commit();

                return $this->replay($stored);
            }
            $response = $next($request);
            if ($response->getStatusCode() >= 500) {
                $db->rollBack();

                return $response;
            }
            $db->table(self::TABLE)->where($where)->update([
                'status' => $response->getStatusCode(),
                'body' => $response->getContent(),
            ]);
            $db->commit();
        } catch (Throwable $e) {
            $db->rollBack();
            throw $e;
        }
        $this->forgetOld();

        return $response;
    }

    private function replay(?object $stored): Response
    {
        if ($stored === null || $stored->status === null) {
            return response()->json(['message' => 'A request with this Idempotency-Key is still being processed.'], 409);
        }

        return response($stored->body, (int) $stored->status, [
            'Content-Type' => 'application/json',
            'Idempotent-Replayed' => 'true',
        ]);
    }

    /** Now and then, drop keys older than wagateway.idempotency_hours. */
    private function forgetOld(): void
    {
        if (random_int(1, 100) !== 1) {
            return;
        }
        $cutoff = Carbon::now('UTC')->subHours((int) config('wagateway.idempotency_hours', 24));
        DB::table(self::TABLE)->where('created_at', '<', $cutoff->format('Y-m-d H:i:s.v'))->delete();
    }
}
