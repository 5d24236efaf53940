<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class ShowStatusTest extends TestCase
{
    public function test_a_known_account_is_shown_in_utc_with_milliseconds()
    {
        $this->givenAccount('abc123', 'active', '2026-11-27T11:00:00.250+01:00');

        $this->getJson('/api/whatsapp/status/abc123')
            ->assertOk()
            ->assertExactJson(['session_id' => 'abc123', 'estado_qr' => 'active', 'last_status_update' => '2026-11-27T10:00:00.250Z']);
    }

    public function test_an_account_without_a_status_time_shows_null()
    {
        $this->postJson('/api/qr', $this->qr('abc123'))->assertOk();

        $this->getJson('/api/whatsapp/status/abc123')
            ->assertOk()
            ->assertExactJson(['session_id' => 'abc123', 'estado_qr' => 'pending', 'last_status_update' => null]);
    }

    public function test_an_unknown_or_impossible_session_is_a_404()
    {
        $this->getJson('/api/whatsapp/status/abc999')->assertNotFound()->assertJsonStructure(['message']);
        $this->getJson('/api/whatsapp/status/'.str_repeat('a', 65))->assertNotFound();
        $this->getJson('/api/whatsapp/status/a%20b')->assertNotFound();
    }
}
