<?php

use Illuminate\Support\Facades\Route;
use Wagateway\Laravel\Http\Controllers\ProviderStatesController;
use Wagateway\Laravel\Http\Controllers\QrBatchController;
use Wagateway\Laravel\Http\Controllers\QrController;
use Wagateway\Laravel\Http\Controllers\ShowStatusController;
use Wagateway\Laravel\Http\Controllers\StatusBatchController;
use Wagateway\Laravel\Http\Controllers\StatusController;
use Wagateway\Laravel\Http\Middleware\AnswerJson;
use Wagateway\Laravel\Http\Middleware\RememberIdempotencyKey;
use Wagateway\Laravel\Http\Middleware\RequireJsonBody;
use Wagateway\Laravel\Http\Middleware\VerifyBearerToken;
use Wagateway\Laravel\Http\Middleware\VerifySignature;

// The gateway's endpoints (contracts/README.md). Order matters: token, then
// signature (over the raw body), then the body, then the replay check.
Route::prefix(config('wagateway.prefix', 'api'))
    ->middleware(array_merge(config('wagateway.middleware', []), [
        AnswerJson::class,
        VerifyBearerToken::class,
        VerifySignature::class,
    ]))
    ->group(function () {
        Route::middleware([RequireJsonBody::class, RememberIdempotencyKey::class])->group(function () {
            Route::post('qr/batch', QrBatchController::class);
            Route::post('whatsapp/status/batch', StatusBatchController::class);
            Route::post('qr', QrController::class);
            Route::post('whatsapp/status', StatusController::class);
        });
        Route::get('whatsapp/status/{sessionId}', ShowStatusController::class);
    });

if (config('wagateway.provider_states')) {
    Route::post('_pact/provider-states', ProviderStatesController::class)->middleware(AnswerJson::class);
}
