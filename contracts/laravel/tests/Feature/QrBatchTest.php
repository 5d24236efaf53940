<?php

namespace Wagateway\Laravel\Tests\Feature;

use Wagateway\Laravel\Tests\TestCase;

class QrBatchTest extends TestCase
{
    public function test_the_checklists_curl_example_is_accepted()
    {
        // Test 4 of the checklist: no event time, a data URL that is only a prefix, no Accept header.
        $this->call('POST', '/api/qr/batch', [], [], [], ['CONTENT_TYPE' => 'application/json'],
            '{"qrs":[{"session_id":"test","qr":"data:image/png..."}]}')
            ->assertOk()
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);

        $this->assertSame('data:image/png...', $this->account('test')['qr_code']);
        // Without generated_at the receive time counts.
        $this->assertSame('2026-11-27 12:00:00.000', $this->account('test')['qr_generated_at']);
    }

    public function test_a_batch_creates_and_updates_accounts_and_records_each_change()
    {
        $this->givenAccount('abc123');

        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123'), $this->qr('def456', self::T1)]])
            ->assertOk()
            ->assertExactJson(['success' => true, 'updated' => 2, 'failed' => 0]);

        $this->assertSame(self::PNG, $this->account('abc123')['qr_code']);
        $this->assertSame('active', $this->account('abc123')['estado_qr'], 'a QR leaves the status alone');
        $new = $this->account('def456');
        $this->assertSame('pending', $new['estado_qr'], 'a QR creates its account pending');
        $this->assertNull($new['last_status_update'], 'with no status time, so any status wins');
        $this->assertSame('2026-11-27 10:00:05.000', $new['qr_generated_at']);
        $this->assertCount(1, $this->history('abc123'));
        $this->assertSame('qr', $this->history('def456')[0]['change']);
    }

    public function test_an_older_qr_is_counted_as_updated_and_changes_nothing()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123', self::T1, self::PNG)]])->assertOk();

        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123', self::T0, 'data:image/png;base64,AAAA')]])
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 0]);

        $this->assertSame(self::PNG, $this->account('abc123')['qr_code']);
        $this->assertCount(1, $this->history('abc123'), 'a stale item leaves no history');
    }

    public function test_a_newer_qr_in_the_same_batch_wins_over_an_older_one()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [
            $this->qr('abc123', self::T1, 'data:image/png;base64,BBBB'),
            $this->qr('abc123', self::T0, 'data:image/png;base64,AAAA'),
        ]])->assertExactJson(['success' => true, 'updated' => 2, 'failed' => 0]);

        $this->assertSame('data:image/png;base64,BBBB', $this->account('abc123')['qr_code']);
    }

    public function test_unknown_accounts_count_as_failed_when_autocreate_is_off()
    {
        config(['wagateway.autocreate' => false]);
        $this->givenAccount('abc123');

        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123'), $this->qr('abc999')]])
            ->assertOk()
            ->assertExactJson(['success' => true, 'updated' => 1, 'failed' => 1]);

        $this->assertNull($this->account('abc999'));
    }

    /** @dataProvider invalidItems */
    public function test_each_invalid_field_is_named_by_its_index(array $item, string $key)
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('ok1'), $item]])
            ->assertStatus(422)
            ->assertJsonStructure(['message', 'errors'])
            ->assertJsonValidationErrors([$key]);

        $this->assertNull($this->account('ok1'), 'an invalid batch stores nothing');
    }

    public function invalidItems(): array
    {
        $png = self::PNG;

        return [
            'session_id missing' => [['qr' => $png], 'qrs.1.session_id'],
            'session_id not a string' => [['session_id' => 12, 'qr' => $png], 'qrs.1.session_id'],
            'session_id too long' => [['session_id' => str_repeat('a', 65), 'qr' => $png], 'qrs.1.session_id'],
            'session_id with a space' => [['session_id' => 'a b', 'qr' => $png], 'qrs.1.session_id'],
            'qr missing' => [['session_id' => 'x'], 'qrs.1.qr'],
            'qr empty' => [['session_id' => 'x', 'qr' => ''], 'qrs.1.qr'],
            'qr not a string' => [['session_id' => 'x', 'qr' => ['a']], 'qrs.1.qr'],
            'qr not a PNG data URL' => [['session_id' => 'x', 'qr' => 'not-a-png'], 'qrs.1.qr'],
            'qr a JPEG' => [['session_id' => 'x', 'qr' => 'data:image/jpeg;base64,AAAA'], 'qrs.1.qr'],
            'generated_at not a date' => [['session_id' => 'x', 'qr' => $png, 'generated_at' => 'tomorrow'], 'qrs.1.generated_at'],
            'generated_at a date only' => [['session_id' => 'x', 'qr' => $png, 'generated_at' => '2026-11-27'], 'qrs.1.generated_at'],
            'generated_at impossible' => [['session_id' => 'x', 'qr' => $png, 'generated_at' => '2026-13-45T10:00:00Z'], 'qrs.1.generated_at'],
            'generated_at a number' => [['session_id' => 'x', 'qr' => $png, 'generated_at' => 1795773600], 'qrs.1.generated_at'],
            'item not an object' => [['x'], 'qrs.1.session_id'],
        ];
    }

    public function test_the_pacts_bad_second_qr_names_qrs_1_qr_only()
    {
        $this->postJson('/api/qr/batch', ['qrs' => [$this->qr('abc123'), $this->qr('def456', self::T0, 'not-a-png')]])
            ->assertStatus(422)
            ->assertJsonPath('errors', ['qrs.1.qr' => ['The qrs.1.qr must start with one of the following: data:image/png.']]);
    }

    /** @dataProvider invalidBatches */
    public function test_the_batch_itself_must_hold_1_to_500_items($body)
    {
        $this->postJson('/api/qr/batch', $body)
            ->assertStatus(422)
            ->assertJsonValidationErrors(['qrs']);
    }

    public function invalidBatches(): array
    {
        return [
            'missing' => [[]],
            'null' => [['qrs' => null]],
            'empty' => [['qrs' => []]],
            'not an array' => [['qrs' => 'abc']],
            '501 items' => [['qrs' => array_fill(0, 501, ['session_id' => 's', 'qr' => self::PNG])]],
        ];
    }

    public function test_500_items_are_accepted_in_one_request()
    {
        $qrs = [];
        for ($i = 0; $i < 500; $i++) {
            $qrs[] = $this->qr('s'.$i);
        }

        $this->postJson('/api/qr/batch', ['qrs' => $qrs])
            ->assertExactJson(['success' => true, 'updated' => 500, 'failed' => 0]);
        $this->assertDatabaseCount('whatsapp_accounts', 500);
        $this->assertDatabaseCount('whatsapp_status_history', 500);
    }

    public function test_malformed_json_is_a_400_and_another_content_type_a_415()
    {
        $this->call('POST', '/api/qr/batch', [], [], [], ['CONTENT_TYPE' => 'application/json'], '{"qrs":[')
            ->assertStatus(400)
            ->assertJsonStructure(['message']);

        $this->call('POST', '/api/qr/batch', ['qrs' => []], [], [], ['CONTENT_TYPE' => 'application/x-www-form-urlencoded'])
            ->assertStatus(415)
            ->assertJsonStructure(['message']);
    }
}
