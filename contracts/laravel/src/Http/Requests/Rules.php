<?php

namespace Wagateway\Laravel\Http\Requests;

/**
 * The field rules shared by the batch and single requests. `bail` stops at
 * the first failing rule of a field: one message per field, as the mock.
 */
final class Rules
{
    public const MAX_BATCH = 500;

    public static function batch(): array
    {
        return ['bail', 'required', 'array', 'max:'.self::MAX_BATCH];
    }

    public static function sessionId(): array
    {
        return ['bail', 'required', 'string', 'max:64', 'regex:/^[A-Za-z0-9_-]+$/'];
    }

    /**
     * A PNG data URL. Only the prefix is checked, `starts_with:data:image/png`
     * as in the checklist, so its example "data:image/png..." is accepted; the
     * gateway always sends "data:image/png;base64,<base64>".
     */
    public static function qr(): array
    {
        return ['bail', 'required', 'string', 'starts_with:data:image/png'];
    }

    public static function status(): array
    {
        return ['bail', 'required', 'string', 'in:pending,active,inactive,expired'];
    }

    /**
     * An optional RFC 3339 event time (the gateway always sends one, with
     * milliseconds); without it, the receive time counts. The regex keeps
     * `date`'s strtotime() from accepting "tomorrow" or "2026-11-27".
     */
    public static function eventTime(): array
    {
        return ['bail', 'nullable', 'string', 'regex:/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/', 'date'];
    }
}
