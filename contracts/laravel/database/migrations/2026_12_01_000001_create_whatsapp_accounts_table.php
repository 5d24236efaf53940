<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// One row per WhatsApp session. If your app already has whatsapp_accounts,
// publish this migration and turn it into an `add columns` one (qr_code,
// qr_generated_at, estado_qr, last_status_update).
return new class extends Migration
{
    public function up()
    {
        Schema::create('whatsapp_accounts', function (Blueprint $table) {
            $table->id();
            $table->string('session_id', 64)->unique();
            $table->text('qr_code')->nullable();
            // Event times with milliseconds: newest-wins compares them.
            $table->timestamp('qr_generated_at', 3)->nullable();
            $table->string('estado_qr', 16)->default('pending')->index();
            $table->timestamp('last_status_update', 3)->nullable();
            $table->timestamps();
        });
    }

    public function down()
    {
        Schema::dropIfExists('whatsapp_accounts');
    }
};
