<?php

namespace Wagateway\Laravel\Http\Requests;

use Illuminate\Foundation\Http\FormRequest;

/** POST /api/qr/batch: {"qrs": [{"session_id", "qr", "generated_at"?}, …]} */
class QrBatchRequest extends FormRequest
{
    public function authorize()
    {
        return true;
    }

    public function rules()
    {
        return [
            'qrs' => Rules::batch(),
            'qrs.*.session_id' => Rules::sessionId(),
            'qrs.*.qr' => Rules::qr(),
            'qrs.*.generated_at' => Rules::eventTime(),
        ];
    }

    /** @return array<int, array{session_id: string, value: string, at: string|null}> */
    public function items(): array
    {
        return array_map(static function (array $item) {
            return ['session_id' => $item['session_id'], 'value' => $item['qr'], 'at' => $item['generated_at'] ?? null];
        }, $this->validated()['qrs']);
    }
}
