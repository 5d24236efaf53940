<?php

namespace Wagateway\Laravel;

use Illuminate\Database\ConnectionInterface;
use Illuminate\Support\Carbon;

/**
 * Applies batches of QR codes or statuses to whatsapp_accounts, one
 * transaction per batch, newest event wins, every applied change recorded
 * in whatsapp_status_history in the same transaction.
 *
 * Writes use the query builder rather than Eloquent models: a batch has up
 * to 500 items and model events, casts and dirty tracking would cost more
 * than the rest of the request.
 */
class AccountUpdater
{
    public const QR = 'qr';
    public const STATUS = 'status';

    /** Stored time format: UTC with milliseconds (sorts as text, too). */
    public const TIME_FORMAT = 'Y-m-d H:i:s.v';

    private const COLUMNS = [
        self::QR => ['value' => 'qr_code', 'time' => 'qr_generated_at'],
        self::STATUS => ['value' => 'estado_qr', 'time' => 'last_status_update'],
    ];

    /** @var ConnectionInterface */
    private $db;

    /** @var bool */
    private $autocreate;

    public function __construct(ConnectionInterface $db, bool $autocreate)
    {
        $this->db = $db;
        $this->autocreate = $autocreate;
    }

    /**
     * @param  string  $kind  self::QR or self::STATUS
     * @param  array<int, array{session_id: string, value: string, at: string|null}>  $items
     * @param  string|null  $idempotencyKey  recorded with each history row
     * @return array{updated: int, failed: int}
     */
    public function apply(string $kind, array $items, ?string $idempotencyKey = null): array
    {
        $valueCol = self::COLUMNS[$kind]['value'];
        $timeCol = self::COLUMNS[$kind]['time'];

        return $this->db->transaction(function () use ($kind, $items, $idempotencyKey, $valueCol, $timeCol) {
            // The receive time stands in for a missing event time.
            $now = Carbon::now('UTC');
            $nowText = $now->format(self::TIME_FORMAT);
            $rows = $this->load(array_unique(array_column($items, 'session_id')), $valueCol, $timeCol);
            $updated = 0;
            $failed = 0;
            $history = [];

            foreach ($items as $item) {
                $id = $item['session_id'];
                $at = $item['at'] === null ? $now : Carbon::parse($item['at'])->utc();
                $atText = $at->format(self::TIME_FORMAT);
                $row = $rows[$id] ?? null;

                if ($row === null) {
                    if (! $this->autocreate) {
                        $failed++;
                        continue;
                    }
                    // A QR creates its account as pending, with no status time, so any status wins over it.
                    $row = ['estado_qr' => null, $timeCol => null]; // no previous status
                    $insert = ['session_id' => $id, 'estado_qr' => 'pending', 'created_at' => $nowText, 'updated_at' => $nowText];
                    $insert[$valueCol] = $item['value'];
                    $insert[$timeCol] = $atText;
                    $this->db->table('whatsapp_accounts')->insert($insert);
                } else {
                    $stored = $row[$timeCol] === null ? null : Carbon::parse($row[$timeCol], 'UTC');
                    if ($stored !== null && $at->lessThan($stored)) {
                        $updated++; // older than what we have: accepted, changes nothing
                        continue;
                    }
                    // At one instant the QR being shown (pending) comes before its
                    // outcome, which the gateway's faster lane may deliver first.
                    if ($kind === self::STATUS && $stored !== null && $at->equalTo($stored)
                        && $item['value'] === 'pending' && $row['estado_qr'] !== 'pending') {
                        $updated++;
                        continue;
                    }
                    if ($stored !== null && $at->equalTo($stored) && $row[$valueCol] === $item['value']) {
                        $updated++; // the same event again
                        continue;
                    }
                    $this->db->table('whatsapp_accounts')->where('session_id', $id)->update([
                        $valueCol => $item['value'],
                        $timeCol => $atText,
                        'updated_at' => $nowText,
                    ]);
                }

                $history[] = [
                    'session_id' => $id,
                    'change' => $kind,
                    'estado_qr' => $kind === self::STATUS ? $item['value'] : null,
                    'previous_estado_qr' => $kind === self::STATUS ? $row['estado_qr'] : null,
                    'event_at' => $atText,
                    'idempotency_key' => $idempotencyKey,
                    'created_at' => $nowText,
                ];
                $row['estado_qr'] = $row['estado_qr'] ?? 'pending';
                $row[$valueCol] = $item['value'];
                $row[$timeCol] = $atText;
                $rows[$id] = $row;
                $updated++;
            }

            // 7 columns: 100 rows stay under SQLite's 999 bound parameters.
            foreach (array_chunk($history, 100) as $chunk) {
                $this->db->table('whatsapp_status_history')->insert($chunk);
            }

            return ['updated' => $updated, 'failed' => $failed];
        });
    }

    /**
     * @param  array<int, string>  $ids
     * @return array<string, array<string, string|null>> by session_id
     */
    private function load(array $ids, string $valueCol, string $timeCol): array
    {
        $rows = [];
        foreach (array_chunk(array_values($ids), 500) as $chunk) {
            $found = $this->db->table('whatsapp_accounts')
                ->whereIn('session_id', $chunk)
                ->get(array_values(array_unique(['session_id', 'estado_qr', $valueCol, $timeCol])));
            foreach ($found as $r) {
                $rows[$r->session_id] = (array) $r;
            }
        }

        return $rows;
    }
}
