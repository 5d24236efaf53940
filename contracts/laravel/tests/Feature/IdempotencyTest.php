<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class IdempotencyTest extends TestCase
{
    private const KEY = '4f9c2a7be1d04c6e8a1b3c5d7e9f0a2b';

    public function test_a_replay_answers_the_first_answer_and_changes_nothing()
    {
        config(['wagateway.autocreate' => false]);
        $this->givenAccount('abc123', 'pending', self::T0);
        $headers = ['Idempotency-Key' => self::KEY];

        $first = $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            $this->status('abc123', 'active'), $this->status('abc999', 'active'),
        ]], $headers)->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 1]);
        $this->assertNull($first->headers->get('Idempotent-Replayed'));

        // Same key, a different (newer) body: the first answer, nothing applied.
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [
            $this->status('abc123', 'expired', '2026-11-27T11:00:00.000Z'),
        ]], $headers)
            ->assertOk()
            ->assertHeader('Idempotent-Replayed', 'true')
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 1]);

        $this->assertSame('active', $this->account('abc123')['estado_qr']);
        $this->assertCount(1, $this->history('abc123'));
    }

    public function test_a_validation_failure_is_replayed_too()
    {
        $headers = ['Idempotency-Key' => self::KEY];
        $this->postJson('/api/qr/batch', ['qrs' => []], $headers)->assertStatus(422);
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123')]], $headers)
            ->assertStatus(422)->assertJsonValidationErrors(['qrs']);
        $this->assertNull($this->account('abc123'));
    }

    public function test_keys_are_per_endpoint()
    {
        $headers = ['Idempotency-Key' => self::KEY];
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123')]], $headers)->assertOk();
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'active')]], $headers)
            ->assertOk();
        $this->assertSame('active', $this->account('abc123')['estado_qr']);
    }

    public function test_a_server_error_is_not_remembered()
    {
        $headers = ['Idempotency-Key' => self::KEY];
        \Illuminate\Support\Facades\DB::listen(function ($q) {
            if (str_contains($q->sql, 'insert into "whatsapp_status_history"') && ! app()->bound('wagateway.test.ok')) {
                throw new \RuntimeException('transient');
            }
        });
        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'active')]], $headers)->assertStatus(500);
        app()->instance('wagateway.test.ok', true);

        $this->postJson('/api/whatsapp/status/batch', ['statuses' => [$this->status('abc123', 'active')]], $headers)
            ->assertOk()->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);
        $this->assertSame('active', $this->account('abc123')['estado_qr']);
    }

    public function test_without_a_key_every_request_is_processed()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123', self::T0, 'data:image/png;base64,AAAA')]])->assertOk();
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123', self::T1)]])->assertOk();
        $this->assertSame(self::PNG, $this->account('abc123')['qr_code']);
    }
}
