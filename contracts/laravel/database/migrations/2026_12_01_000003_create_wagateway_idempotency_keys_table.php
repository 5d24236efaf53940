<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// The first answer to each Idempotency-Key, per endpoint: a retry gets it
// back instead of being processed again.
return new class extends Migration
{
    public function up()
    {
        Schema::create('wagateway_idempotency_keys', function (Blueprint $table) {
            $table->id();
            $table->string('endpoint', 64);
            $table->string('idempotency_key', 64);
            $table->unsignedSmallInteger('status')->nullable(); // null while the first request runs
            $table->text('body')->nullable();
            $table->timestamp('created_at', 3)->nullable();
            $table->unique(['endpoint', 'idempotency_key']);
        });
    }

    public function down()
    {
        Schema::dropIfExists('wagateway_idempotency_keys');
    }
};
