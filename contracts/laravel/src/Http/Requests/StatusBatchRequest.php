<?php

namespace Wagateway\Laravel\Http\Requests;

use Illuminate\Foundation\Http\FormRequest;

/** POST /api/whatsapp/status/batch: {"statuses": [{"session_id", "estado_qr", "updated_at"?}, …]} */
class StatusBatchRequest extends FormRequest
{
    public function authorize()
    {
        return true;
    }

    public function rules()
    {
        return [
            'statuses' => Rules::batch(),
            'statuses.*.session_id' => Rules::sessionId(),
            'statuses.*.estado_qr' => Rules::status(),
            'statuses.*.updated_at' => Rules::eventTime(),
        ];
    }

    /** @return array<int, array{session_id: string, value: string, at: string|null}> */
    public function items(): array
    {
        return array_map(static function (array $item) {
            return ['session_id' => $item['session_id'], 'value' => $item['estado_qr'], 'at' => $item['updated_at'] ?? null];
        }, $this->validated()['statuses']);
    }
}
