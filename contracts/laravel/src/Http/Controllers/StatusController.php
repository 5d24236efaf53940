<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Wagateway\Laravel\AccountUpdater;
use Wagateway\Laravel\Http\Requests\StatusRequest;

/** The one-item endpoint, kept for compatibility: an unknown account is a 404. */
class StatusController
{
    public function __invoke(StatusRequest $request, AccountUpdater $accounts): JsonResponse
    {
        $result = $accounts->apply(AccountUpdater::STATUS, [$request->item()], $request->header('Idempotency-Key'));

        return SingleAnswer::of($result);
    }
}
