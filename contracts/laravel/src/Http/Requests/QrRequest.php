<?php

namespace Wagateway\Laravel\Http\Requests;

use Illuminate\Foundation\Http\FormRequest;

/** POST /api/qr: one item of the QR batch at the top level. */
class QrRequest extends FormRequest
{
    public function authorize()
    {
        return true;
    }

    public function rules()
    {
        return [
            'session_id' => Rules::sessionId(),
            'qr' => Rules::qr(),
            'generated_at' => Rules::eventTime(),
        ];
    }

    /** @return array{session_id: string, value: string, at: string|null} */
    public function item(): array
    {
        $v = $this->validated();

        return ['session_id' => $v['session_id'], 'value' => $v['qr'], 'at' => $v['generated_at'] ?? null];
    }
}
