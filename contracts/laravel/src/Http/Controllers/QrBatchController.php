<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Wagateway\Laravel\AccountUpdater;
use Wagateway\Laravel\Http\Requests\QrBatchRequest;

class QrBatchController
{
    public function __invoke(QrBatchRequest $request, AccountUpdater $accounts): JsonResponse
    {
        $result = $accounts->apply(AccountUpdater::QR, $request->items(), $request->header('Idempotency-Key'));

        return response()->json(['success' => true] + $result);
    }
}
