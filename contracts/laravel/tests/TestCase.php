<?php

namespace Wagateway\Laravel\Tests;

use Illuminate\Contracts\Console\Kernel;
use Illuminate\Foundation\Testing\RefreshDatabase;
use Illuminate\Foundation\Testing\TestCase as BaseTestCase;
use Illuminate\Support\Carbon;
use Illuminate\Support\Facades\DB;

/**
 * Feature tests of the package, run inside the host app next to it (the
 * package has no app of its own; Orchestra Testbench is not in Debian).
 */
abstract class TestCase extends BaseTestCase
{
    use RefreshDatabase;

    /** A real 1x1 PNG, as the gateway sends them. */
    protected const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==';

    protected const T0 = '2026-11-27T10:00:00.000Z';
    protected const T1 = '2026-11-27T10:00:05.000Z';

    public function createApplication()
    {
        $app = require (getenv('WAGATEWAY_HOST_APP') ?: __DIR__.'/../host').'/bootstrap/app.php';
        $app->make(Kernel::class)->bootstrap();

        return $app;
    }

    protected function setUp(): void
    {
        parent::setUp();
        Carbon::setTestNow(Carbon::parse('2026-11-27T12:00:00Z'));
        config(['wagateway.token' => '', 'wagateway.signing_secret' => '', 'wagateway.autocreate' => true]);
    }

    protected function tearDown(): void
    {
        Carbon::setTestNow();
        parent::tearDown();
    }

    /** The row of a session, as stored. */
    protected function account(string $id): ?array
    {
        $row = DB::table('whatsapp_accounts')->where('session_id', $id)->first();

        return $row === null ? null : (array) $row;
    }

    /** @return array<int, array> history rows of a session in applied order */
    protected function history(string $id): array
    {
        return DB::table('whatsapp_status_history')->where('session_id', $id)->orderBy('id')->get()
            ->map(function ($r) {
                return (array) $r;
            })->all();
    }

    protected function givenAccount(string $id, string $estado = 'active', ?string $at = self::T0): void
    {
        DB::table('whatsapp_accounts')->insert([
            'session_id' => $id,
            'estado_qr' => $estado,
            'last_status_update' => $at === null ? null : Carbon::parse($at)->utc()->format('Y-m-d H:i:s.v'),
        ]);
    }

    protected function qr(string $id, ?string $at = self::T0, string $qr = self::PNG): array
    {
        $item = ['session_id' => $id, 'qr' => $qr];
        if ($at !== null) {
            $item['generated_at'] = $at;
        }

        return $item;
    }

    protected function status(string $id, string $estado, ?string $at = self::T1): array
    {
        $item = ['session_id' => $id, 'estado_qr' => $estado];
        if ($at !== null) {
            $item['updated_at'] = $at;
        }

        return $item;
    }
}
