<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// The audit trail: one row per change applied to whatsapp_accounts, written
// in the transaction of its batch. Stale items (older than the stored state)
// change nothing and leave no row. The id orders the rows as applied.
return new class extends Migration
{
    public function up()
    {
        Schema::create('whatsapp_status_history', function (Blueprint $table) {
            $table->id();
            $table->string('session_id', 64);
            $table->string('change', 8); // 'status' or 'qr'
            $table->string('estado_qr', 16)->nullable(); // the new status (status changes)
            $table->string('previous_estado_qr', 16)->nullable();
            $table->timestamp('event_at', 3); // generated_at / updated_at, or the receive time
            $table->string('idempotency_key', 64)->nullable();
            $table->timestamp('created_at', 3)->nullable();
            $table->index(['session_id', 'id']);
        });
    }

    public function down()
    {
        Schema::dropIfExists('whatsapp_status_history');
    }
};
