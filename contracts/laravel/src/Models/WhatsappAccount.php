<?php

namespace Wagateway\Laravel\Models;

use Illuminate\Database\Eloquent\Model;

/**
 * One WhatsApp session as Laravel knows it.
 *
 * @property string $session_id
 * @property string|null $qr_code
 * @property \Illuminate\Support\Carbon|null $qr_generated_at
 * @property string $estado_qr
 * @property \Illuminate\Support\Carbon|null $last_status_update
 */
class WhatsappAccount extends Model
{
    public const STATUSES = ['pending', 'active', 'inactive', 'expired'];

    protected $table = 'whatsapp_accounts';

    // Milliseconds: the gateway's event times have them and newest-wins compares them.
    protected $dateFormat = 'Y-m-d H:i:s.v';

    protected $fillable = ['session_id', 'qr_code', 'qr_generated_at', 'estado_qr', 'last_status_update'];

    protected $casts = [
        'qr_generated_at' => 'datetime',
        'last_status_update' => 'datetime',
    ];

    protected $hidden = ['qr_code'];
}
