<?php

namespace Wagateway\Laravel\Tests\Feature;

use Illuminate\Support\Carbon;
use Wagateway\Laravel\Tests\TestCase;

class SignatureTest extends TestCase
{
    private const SECRET = 'whsec_cGFjdC1jb25zdW1lci10ZXN0LXNpZ25pbmcta2V5';

    protected function setUp(): void
    {
        parent::setUp();
        config(['wagateway.signing_secret' => self::SECRET]);
    }

    /** The headers the gateway sends (service/laravel/sign.go), computed here from the specs. */
    private function signed(string $body, string $id, int $timestamp, string $secret = self::SECRET): array
    {
        $key = strncmp($secret, 'whsec_', 6) === 0 ? base64_decode(substr($secret, 6)) : $secret;

        return [
            'CONTENT_TYPE' => 'application/json',
            'HTTP_ACCEPT' => 'application/json',
            'HTTP_IDEMPOTENCY_KEY' => $id,
            'HTTP_WEBHOOK_ID' => $id,
            'HTTP_WEBHOOK_TIMESTAMP' => (string) $timestamp,
            'HTTP_WEBHOOK_SIGNATURE' => 'v1,'.base64_encode(hash_hmac('sha256', $id.'.'.$timestamp.'.'.$body, $key, true)),
            'HTTP_SIGNATURE' => hash_hmac('sha256', $body, $secret),
        ];
    }

    private function send(string $body, array $server, string $uri = '/api/qr/batch')
    {
        return $this->call('POST', $uri, [], [], [], $server, $body);
    }

    private function body(): string
    {
        return json_encode(['qrs' => [$this->qr('abc123')]]);
    }

    public function test_a_correctly_signed_request_passes()
    {
        $this->send($this->body(), $this->signed($this->body(), str_repeat('a', 32), Carbon::now()->getTimestamp()))
            ->assertOk();
        $this->assertNotNull($this->account('abc123'));
    }

    public function test_the_get_lookup_is_signed_over_an_empty_body()
    {
        $this->givenAccount('abc123');
        $server = $this->signed('', 'msg_0123', Carbon::now()->getTimestamp());
        $this->call('GET', '/api/whatsapp/status/abc123', [], [], [], $server)->assertOk();
    }

    public function test_a_raw_secret_keys_both_macs_with_its_bytes()
    {
        config(['wagateway.signing_secret' => 'plain-secret']);
        $this->send($this->body(), $this->signed($this->body(), 'k1', Carbon::now()->getTimestamp(), 'plain-secret'))->assertOk();
    }

    public function test_one_valid_signature_among_several_is_enough()
    {
        $server = $this->signed($this->body(), 'k2', Carbon::now()->getTimestamp());
        $server['HTTP_WEBHOOK_SIGNATURE'] = 'v1,'.base64_encode(str_repeat('x', 32)).' '.$server['HTTP_WEBHOOK_SIGNATURE'];
        $this->send($this->body(), $server)->assertOk();
    }

    /** @dataProvider refusals */
    public function test_a_bad_signature_is_a_401(callable $spoil)
    {
        $server = $this->signed($this->body(), 'k3', Carbon::now()->getTimestamp());
        $body = $spoil($server, $this->body());

        $this->send($body, $server)->assertStatus(401)->assertJsonStructure(['message']);
        $this->assertNull($this->account('abc123'));
    }

    public function refusals(): array
    {
        return [
            'no headers' => [function (array &$s, string $b) {
                unset($s['HTTP_WEBHOOK_ID'], $s['HTTP_WEBHOOK_TIMESTAMP'], $s['HTTP_WEBHOOK_SIGNATURE'], $s['HTTP_SIGNATURE']);

                return $b;
            }],
            'webhook-signature of another body' => [function (array &$s, string $b) {
                $s['HTTP_SIGNATURE'] = hash_hmac('sha256', $b.' ', self::SECRET);

                return $b.' ';
            }],
            'Signature of another body' => [function (array &$s, string $b) {
                $s['HTTP_SIGNATURE'] = hash_hmac('sha256', 'x', self::SECRET);

                return $b;
            }],
            'Signature missing' => [function (array &$s, string $b) {
                unset($s['HTTP_SIGNATURE']);

                return $b;
            }],
            'another webhook-id' => [function (array &$s, string $b) {
                $s['HTTP_WEBHOOK_ID'] = 'other';

                return $b;
            }],
            'a v2 signature' => [function (array &$s, string $b) {
                $s['HTTP_WEBHOOK_SIGNATURE'] = 'v2,'.substr($s['HTTP_WEBHOOK_SIGNATURE'], 3);

                return $b;
            }],
            'timestamp not a number' => [function (array &$s, string $b) {
                $s['HTTP_WEBHOOK_TIMESTAMP'] = 'soon';

                return $b;
            }],
        ];
    }

    public function test_the_timestamp_must_be_within_5_minutes_either_way()
    {
        $now = Carbon::now()->getTimestamp();
        $this->send($this->body(), $this->signed($this->body(), 'old', $now - 301))->assertStatus(401);
        $this->send($this->body(), $this->signed($this->body(), 'future', $now + 301))->assertStatus(401);
        $this->assertNull($this->account('abc123'));
        $this->send($this->body(), $this->signed($this->body(), 'edge', $now - 300))->assertOk();
    }

    public function test_with_no_secret_signatures_are_not_checked()
    {
        config(['wagateway.signing_secret' => '']);
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123')]], ['Signature' => 'nonsense'])->assertOk();
    }
}
