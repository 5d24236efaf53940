<?php

namespace Wagateway\Laravel\Http\Requests;

use Illuminate\Foundation\Http\FormRequest;

/** POST /api/whatsapp/status: one item of the status batch at the top level. */
class StatusRequest extends FormRequest
{
    public function authorize()
    {
        return true;
    }

    public function rules()
    {
        return [
            'session_id' => Rules::sessionId(),
            'estado_qr' => Rules::status(),
            'updated_at' => Rules::eventTime(),
        ];
    }

    /** @return array{session_id: string, value: string, at: string|null} */
    public function item(): array
    {
        $v = $this->validated();

        return ['session_id' => $v['session_id'], 'value' => $v['estado_qr'], 'at' => $v['updated_at'] ?? null];
    }
}
