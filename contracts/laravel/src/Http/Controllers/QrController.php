<?php

namespace Wagateway\Laravel\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Wagateway\Laravel\AccountUpdater;
use Wagateway\Laravel\Http\Requests\QrRequest;

/** The one-item endpoint, kept for compatibility: an unknown account is a 404. */
class QrController
{
    public function __invoke(QrRequest $request, AccountUpdater $accounts): JsonResponse
    {
        $result = $accounts->apply(AccountUpdater::QR, [$request->item()], $request->header('Idempotency-Key'));

        return SingleAnswer::of($result);
    }
}
