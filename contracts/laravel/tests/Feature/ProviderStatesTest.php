<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class ProviderStatesTest extends TestCase
{
    public function createApplication()
    {
        // Read when the routes are registered, as in `make laravel-test`.
        putenv('PROVIDER_STATES=1');
        $_SERVER['PROVIDER_STATES'] = $_ENV['PROVIDER_STATES'] = '1';

        return parent::createApplication();
    }

    protected function tearDown(): void
    {
        $this->state('teardown', '');
        putenv('PROVIDER_STATES');
        unset($_SERVER['PROVIDER_STATES'], $_ENV['PROVIDER_STATES']);
        parent::tearDown();
    }

    private function state(string $action, string $state, array $params = [])
    {
        return $this->postJson('/_pact/provider-states', ['action' => $action, 'state' => $state, 'params' => (object) $params]);
    }

    public function test_account_exists_creates_the_row_from_params()
    {
        $this->state('setup', 'account abc123 exists', [
            'session_id' => 'abc123', 'estado_qr' => 'active', 'last_status_update' => '2026-11-27T10:00:00.000Z',
        ])->assertOk()->assertExactJson([]);

        $this->getJson('/api/whatsapp/status/abc123')->assertExactJson([
            'session_id' => 'abc123', 'estado_qr' => 'active', 'last_status_update' => '2026-11-27T10:00:00.000Z',
        ]);
    }

    public function test_no_account_deletes_it()
    {
        $this->givenAccount('abc999');
        $this->state('setup', 'no account abc999', ['session_id' => 'abc999'])->assertOk();
        $this->assertNull($this->account('abc999'));
    }

    public function test_autocreate_is_off_lasts_until_the_teardown()
    {
        $this->state('setup', 'autocreate is off')->assertOk();
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc999')]])
            ->assertExactJson(['success' => true, 'updated' => 0, 'failed' => 1]);

        $this->state('teardown', 'autocreate is off')->assertOk();
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc999')]])
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);
    }

    public function test_teardown_empties_every_table()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123')]], ['Idempotency-Key' => 'k'])->assertOk();
        $this->state('teardown', 'account abc123 exists')->assertOk();

        $this->assertDatabaseCount('whatsapp_accounts', 0);
        $this->assertDatabaseCount('whatsapp_status_history', 0);
        $this->assertDatabaseCount('wagateway_idempotency_keys', 0);
    }

    public function test_a_token_is_required_needs_a_configured_token()
    {
        $this->state('setup', 'a token is required')->assertStatus(400);
        config(['wagateway.token' => 't']);
        $this->state('setup', 'a token is required')->assertOk();
    }

    public function test_an_unknown_state_fails_the_interaction()
    {
        $this->state('setup', 'the moon is full')->assertStatus(400)->assertJsonStructure(['message']);
    }
}
