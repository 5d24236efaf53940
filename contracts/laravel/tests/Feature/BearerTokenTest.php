<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class BearerTokenTest extends TestCase
{
    public function test_with_a_token_configured_every_endpoint_requires_it()
    {
        config(['wagateway.token' => 'secret-token']);
        $requests = [
            ['POST', '/api/qr/batch', ['qrs' => [$this->qr('a')]]],
            ['POST', '/api/whatsapp/status/batch', ['statuses' => [$this->status('a', 'active')]]],
            ['POST', '/api/qr', $this->qr('a')],
            ['POST', '/api/whatsapp/status', $this->status('a', 'active')],
            ['GET', '/api/whatsapp/status/a', []],
        ];
        foreach ($requests as [$method, $uri, $body]) {
            $this->json($method, $uri, $body)->assertStatus(401)->assertExactJson(['message' => 'Unauthenticated.']);
            $this->json($method, $uri, $body, ['Authorization' => 'Bearer wrong-token'])->assertStatus(401);
            $this->json($method, $uri, $body, ['Authorization' => 'Basic secret-token'])->assertStatus(401);
        }
        $this->assertDatabaseCount('whatsapp_accounts', 0);

        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('a')]], ['Authorization' => 'Bearer secret-token'])->assertOk();
        $this->getJson('/api/whatsapp/status/a', ['Authorization' => 'Bearer secret-token'])->assertOk();
    }

    public function test_with_no_token_configured_none_is_asked()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('a')]])->assertOk();
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('b')]], ['Authorization' => 'Bearer anything'])->assertOk();
    }

    public function test_the_token_is_checked_before_the_body()
    {
        config(['wagateway.token' => 'secret-token']);
        $this->postJson('/api/qr/batch', ['qrs' => []])->assertStatus(401);
    }
}
