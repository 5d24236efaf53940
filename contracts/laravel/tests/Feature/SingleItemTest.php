<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class SingleItemTest extends TestCase
{
    public function test_one_qr_is_stored()
    {
        $this->postJson('/api/qr', $this->qr('abc123'))->assertOk()->assertExactJson(['success' => true]);
        $this->assertSame(self::PNG, $this->account('abc123')['qr_code']);
    }

    public function test_one_status_is_stored_and_its_time_is_optional()
    {
        $this->postJson('/api/whatsapp/status', ['session_id' => 'abc123', 'estado_qr' => 'active'])
            ->assertOk()->assertExactJson(['success' => true]);
        $this->assertSame('active', $this->account('abc123')['estado_qr']);
        $this->assertSame('2026-11-27 12:00:00.000', $this->account('abc123')['last_status_update']);
    }

    public function test_an_unknown_account_is_a_404_when_autocreate_is_off()
    {
        config(['wagateway.autocreate' => false]);

        $this->postJson('/api/whatsapp/status', $this->status('abc999', 'active'))
            ->assertNotFound()->assertJsonStructure(['message']);
        $this->postJson('/api/qr', $this->qr('abc999'))
            ->assertNotFound()->assertJsonStructure(['message']);
        $this->assertNull($this->account('abc999'));
    }

    public function test_an_older_single_status_changes_nothing()
    {
        $this->givenAccount('abc123', 'active', self::T1);

        $this->postJson('/api/whatsapp/status', $this->status('abc123', 'expired', self::T0))->assertOk();
        $this->assertSame('active', $this->account('abc123')['estado_qr']);
    }

    public function test_errors_are_keyed_without_an_index()
    {
        $this->postJson('/api/whatsapp/status', ['session_id' => '', 'estado_qr' => 'nope', 'updated_at' => 'x'])
            ->assertStatus(422)
            ->assertJsonValidationErrors(['session_id', 'estado_qr', 'updated_at']);
        $this->postJson('/api/qr', ['session_id' => 'abc', 'qr' => 'x'])
            ->assertStatus(422)
            ->assertJsonValidationErrors(['qr']);
    }
}
