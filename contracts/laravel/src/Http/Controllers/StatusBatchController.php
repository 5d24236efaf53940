<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Wagateway\Laravel\AccountUpdater;
use Wagateway\Laravel\Http\Requests\StatusBatchRequest;

class StatusBatchController
{
    public function __invoke(StatusBatchRequest $request, AccountUpdater $accounts): JsonResponse
    {
        $result = $accounts->apply(AccountUpdater::STATUS, $request->items(), $request->header('Idempotency-Key'));

        return response()->json(['success' => true] + $result);
    }
}
