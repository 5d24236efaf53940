package config

import (
	"fmt"
	"log/slog"
)

// LogValue is the redacted view of c for logging: secrets show only whether
// they are set, and URLs lose their passwords.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("GATEWAY_ADDR", c.Addr),
		slog.String("LARAVEL_URL", c.LaravelURL.Redacted()),
		slog.Bool("LARAVEL_TOKEN_set", c.LaravelToken != ""),
		slog.String("LARAVEL_TIMEOUT", c.LaravelTimeout.String()),
		slog.Bool("LARAVEL_SIGNING_SECRET_set", c.LaravelSigningSecret != ""),
		slog.String("REDIS_URL", redact(c.RedisURL)),
		slog.String("DATA_DIR", c.DataDir),
		slog.String("OUTBOX", c.Outbox),
		slog.Bool("API_KEY_set", c.APIKey != ""),
		slog.String("WA_DRIVER", c.Driver),
		slog.String("WA_STORE", redact(c.Store)),
		slog.String("WA_VERSION", c.WAVersionString()),
		slog.String("DELIVERY_MODE", string(c.DeliveryMode)),
		slog.Int("BATCH_SIZE", c.BatchSize),
		slog.String("BATCH_INTERVAL", c.BatchInterval.String()),
		slog.String("PRIORITY_INTERVAL", c.PriorityInterval.String()),
		slog.String("CACHE_TTL_QR", c.CacheTTLQR.String()),
		slog.String("CACHE_TTL_STATUS", c.CacheTTLStatus.String()),
		slog.String("CACHE_TTL_CONNECTION", c.CacheTTLConnection.String()),
		slog.String("CACHE_TTL_SESSION", c.CacheTTLSession.String()),
		slog.String("QR_THROTTLE", c.QRThrottle.String()),
		slog.String("QR_EXPIRES", c.QRExpires.String()),
		slog.String("INSTANCE_ID", c.InstanceID),
		slog.String("ADVERTISE_URL", c.AdvertiseURL),
		slog.Int("MAX_SESSIONS", c.MaxSessions),
		slog.String("LEASE_TTL", c.LeaseTTL.String()),
		slog.String("SHUTDOWN_TIMEOUT", c.ShutdownTimeout.String()),
		slog.Bool("METRICS_PUBLIC", c.MetricsPublic),
		slog.String("PPROF_ADDR", c.PprofAddr),
		slog.Float64("SIM_TIME_SCALE", c.SimTimeScale),
		slog.Float64("SIM_SCAN_PROBABILITY", c.SimScanProbability),
		slog.String("SIM_SCAN_DELAY", c.SimScanDelay.String()),
		slog.String("LOG_LEVEL", c.LogLevel.String()),
		slog.Int("DEAD_LETTER_MAX", c.DeadLetterMax),
		slog.String("DEAD_LETTER_MAX_AGE", c.DeadLetterMaxAge.String()),
		// A webhook URL often carries its own secret (a token in the path).
		slog.Bool("ALERT_WEBHOOK_URL_set", c.AlertWebhookURL != nil),
		slog.String("ALERT_AFTER", c.AlertAfter.String()),
		slog.Int("HISTORY_MAX", c.HistoryMax),
		slog.String("HISTORY_MAX_AGE", c.HistoryMaxAge.String()),
	)
}

// WAVersionString is WA_VERSION as given ("2.3000.1023456789"), or "builtin".
func (c Config) WAVersionString() string {
	if c.WAVersion == [3]uint32{} {
		return "builtin"
	}
	return fmt.Sprintf("%d.%d.%d", c.WAVersion[0], c.WAVersion[1], c.WAVersion[2])
}
