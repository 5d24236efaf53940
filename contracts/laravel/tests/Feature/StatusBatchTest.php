<?php

namespace Wagateway\Laravel\Tests\Feature;

use Illuminate\Support\Facades\DB;
use RuntimeException;
use Wagateway\Laravel\Tests\TestCase;

class StatusBatchTest extends TestCase
{
    public function test_the_checklists_status_example_is_accepted()
    {
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            ['session_id' => 'abc123', 'estado_qr' => 'active'],
            ['session_id' => 'def456', 'estado_qr' => 'expired'],
        ]])->assertOk()->assertExactJson(['success' => true, 'updated' => 2, 'failed' => 0]);

        $this->assertSame('active', $this->account('abc123')['estado_qr']);
        $this->assertSame('2026-11-27 12:00:00.000', $this->account('abc123')['last_status_update']);
    }

    public function test_the_pacts_unknown_account_is_counted_in_failed()
    {
        config(['wagateway.autocreate' => false]);
        $this->givenAccount('abc123', 'pending');

        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            $this->status('abc123', 'active'),
            $this->status('abc999', 'active'),
        ]])->assertOk()->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 1]);

        $this->assertSame('active', $this->account('abc123')['estado_qr']);
        $this->assertNull($this->account('abc999'));
    }

    public function test_newest_wins_and_history_holds_every_applied_change_in_order()
    {
        $this->givenAccount('abc123', 'pending', self::T0);

        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            $this->status('abc123', 'active', '2026-11-27T10:00:02.000Z'),
            $this->status('abc123', 'inactive', '2026-11-27T10:00:03.500Z'),
            $this->status('abc123', 'expired', '2026-11-27T10:00:01.000Z'), // older: a no-op
        ]])->assertExactJson(['success' => true, 'updated' => 3, 'failed' => 0]);

        $this->assertSame('inactive', $this->account('abc123')['estado_qr']);
        $this->assertSame('2026-11-27 10:00:03.500', $this->account('abc123')['last_status_update']);
        $history = $this->history('abc123');
        $this->assertSame(['active', 'inactive'], array_column($history, 'estado_qr'));
        $this->assertSame(['pending', 'active'], array_column($history, 'previous_estado_qr'));
        $this->assertSame(['2026-11-27 10:00:02.000', '2026-11-27 10:00:03.500'], array_column($history, 'event_at'));
    }

    public function test_milliseconds_decide_and_offsets_are_normalised()
    {
        $this->givenAccount('abc123', 'active', '2026-11-27T10:00:00.500Z');

        // 11:00:00.499+01:00 is 10:00:00.499Z: one millisecond older.
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'expired', '2026-11-27T11:00:00.499+01:00')]])
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);
        $this->assertSame('active', $this->account('abc123')['estado_qr']);

        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'expired', '2026-11-27T10:00:00.501Z')]]);
        $this->assertSame('expired', $this->account('abc123')['estado_qr']);
    }

    public function test_the_same_event_twice_leaves_one_history_row()
    {
        $body = ['statuses' => [$this->status('abc123', 'active')]];
        $this->postJson('/api/whatsapp/status/batch', $body)->assertOk();
        $this->postJson('/api/whatsapp/status/batch', $body)->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);

        $this->assertCount(1, $this->history('abc123'));
    }

    public function test_a_pending_never_replaces_an_outcome_of_the_same_millisecond()
    {
        // The gateway's HIGH lane (active) may arrive before its NORMAL lane (pending).
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'active', self::T1)]])->assertOk();
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'pending', self::T1)]])
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);

        $this->assertSame('active', $this->account('abc123')['estado_qr']);
        $this->assertSame(['active'], array_column($this->history('abc123'), 'estado_qr'));

        // Any other status of the same millisecond still replaces it.
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'inactive', self::T1)]])->assertOk();
        $this->assertSame('inactive', $this->account('abc123')['estado_qr']);
    }

    public function test_a_status_beats_a_qr_created_account()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123', self::T1)]])->assertOk();
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'active', self::T0)]])->assertOk();

        $this->assertSame('active', $this->account('abc123')['estado_qr']);
    }

    public function test_a_failing_write_rolls_the_whole_batch_back()
    {
        $this->givenAccount('abc123', 'pending');
        // The history insert comes last: failing it must undo the account updates.
        DB::listen(function ($query) {
            if (str_contains($query->sql, 'whatsapp_status_history')) {
                throw new RuntimeException('disk full');
            }
        });

        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            $this->status('abc123', 'active'),
            $this->status('def456', 'active'),
        ]])->assertStatus(500);

        $this->assertSame('pending', $this->account('abc123')['estado_qr']);
        $this->assertNull($this->account('def456'));
    }

    /** @dataProvider invalidItems */
    public function test_each_invalid_field_is_named_by_its_index(array $item, string $key)
    {
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('ok1', 'active'), $item]])
            ->assertStatus(422)
            ->assertJsonValidationErrors([$key]);
        $this->assertNull($this->account('ok1'));
    }

    public function invalidItems(): array
    {
        return [
            'session_id missing' => [['estado_qr' => 'active'], 'statuses.1.session_id'],
            'session_id not a string' => [['session_id' => true, 'estado_qr' => 'active'], 'statuses.1.session_id'],
            'session_id with a slash' => [['session_id' => 'a/b', 'estado_qr' => 'active'], 'statuses.1.session_id'],
            'estado_qr missing' => [['session_id' => 'x'], 'statuses.1.estado_qr'],
            'estado_qr unknown' => [['session_id' => 'x', 'estado_qr' => 'connected'], 'statuses.1.estado_qr'],
            'estado_qr not a string' => [['session_id' => 'x', 'estado_qr' => 1], 'statuses.1.estado_qr'],
            'updated_at not a date' => [['session_id' => 'x', 'estado_qr' => 'active', 'updated_at' => 'yesterday'], 'statuses.1.updated_at'],
        ];
    }

    public function test_every_error_of_a_batch_is_reported_at_once()
    {
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            $this->status('a', 'active'),
            ['session_id' => 'b'],
            $this->status('c', 'bogus'),
            $this->status('d d', 'active', 'never'),
        ]])->assertStatus(422)->assertJsonValidationErrors([
            'statuses.1.estado_qr', 'statuses.2.estado_qr', 'statuses.3.session_id', 'statuses.3.updated_at',
        ]);
    }

    public function test_501_statuses_are_refused()
    {
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => array_fill(0, 501, $this->status('s', 'active'))])
            ->assertStatus(422)
            ->assertJsonValidationErrors(['statuses']);
    }
}
