<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class ProviderStatesDisabledTest extends TestCase
{
    public function test_the_state_endpoint_does_not_exist_without_provider_states_1()
    {
        $this->givenAccount('abc123');
        $this->postJson('/_pact/provider-states', ['action' => 'teardown', 'state' => ''])->assertNotFound();
        $this->assertNotNull($this->account('abc123'));
    }
}
