<?php

namespace Wagateway\Laravel\Models;

use Illuminate\Database\Eloquent\Model;

/**
 * One applied change of a whatsapp_accounts row (the audit trail).
 */
class StatusHistory extends Model
{
    protected $table = 'whatsapp_status_history';

    protected $dateFormat = 'Y-m-d H:i:s.v';

    public const UPDATED_AT = null;

    protected $guarded = [];

    protected $casts = ['event_at' => 'datetime'];
}
