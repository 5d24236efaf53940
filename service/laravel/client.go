// Package laravel is the HTTP client of the Laravel application's API: it
// turns service.QRUpdate / service.StatusUpdate into the JSON Laravel expects
// and classifies every failure as a *service.DeliveryError for the flusher.
//
// It never retries or batches on its own: deciding what to send and when is
// the flusher's job.
package laravel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wagateway/service"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// userAgent names us in Laravel's access logs.
const userAgent = "wagateway/1 (+laravel-client)"

const (
	// maxResponseBytes keeps a misbehaving server from filling our memory.
	maxResponseBytes = 1 << 20
	// maxDrainBytes is how much of an unread body we still read so the
	// connection can be reused; beyond that closing it is cheaper.
	maxDrainBytes = 64 << 10
)

// Config configures a Client.
type Config struct {
	BaseURL string        // e.g. http://localhost:8000; paths /api/… are appended
	Token   string        // sent as Authorization: Bearer <Token> when not empty
	Timeout time.Duration // per request; DefaultTimeout when zero
	// HTTPClient is used when set (tests, custom transports); by default a
	// client with its own pooled transport.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// SigningSecret, when set, signs every request: Standard Webhooks headers
	// (webhook-id, webhook-timestamp, webhook-signature) and spatie's
	// Signature. A "whsec_" prefix means base64 key bytes (see sign.go).
	SigningSecret string
}

// Client calls the Laravel API. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	token   string
	timeout time.Duration
	http    *http.Client
	log     *slog.Logger
	signer  *signer          // nil: requests go unsigned
	now     func() time.Time // for Retry-After dates; replaced in tests
}

var _ service.Laravel = (*Client)(nil)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, service.Errorf(service.EINVALID, "laravel base URL is empty")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, service.Errorf(service.EINVALID, "laravel base URL %q: %v", cfg.BaseURL, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, service.Errorf(service.EINVALID, "laravel base URL %q must be http(s)://host[:port][/prefix]", cfg.BaseURL)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	if cfg.Timeout < 0 {
		return nil, service.Errorf(service.EINVALID, "laravel timeout must not be negative, got %s", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// The flusher runs one request per lane at a time plus status
		// lookups; keep those connections warm instead of the default 2.
		tr.MaxIdleConnsPerHost = 16
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	var sg *signer
	if cfg.SigningSecret != "" {
		var err error
		if sg, err = newSigner(cfg.SigningSecret); err != nil {
			return nil, err
		}
	}
	return &Client{
		base:    base,
		token:   cfg.Token,
		timeout: cfg.Timeout,
		http:    cfg.HTTPClient,
		log:     cfg.Logger,
		signer:  sg,
		now:     time.Now,
	}, nil
}

// Wire shapes of the Laravel API, as contracts/README.md describes it and
// contracts/pacts/wagateway-laravel.json pins it.
type (
	qrJSON struct {
		SessionID   string `json:"session_id"`
		QR          string `json:"qr"`
		GeneratedAt string `json:"generated_at"`
	}
	statusJSON struct {
		SessionID string         `json:"session_id"`
		Status    service.Status `json:"estado_qr"`
		UpdatedAt string         `json:"updated_at"`
	}
	statusRecordJSON struct {
		SessionID        string  `json:"session_id"`
		Status           *string `json:"estado_qr"`
		LastStatusUpdate *string `json:"last_status_update"`
	}
)

func formatTime(t time.Time) string { return t.UTC().Format(service.TimeFormat) }

func toQRJSON(q service.QRUpdate) qrJSON {
	return qrJSON{SessionID: q.SessionID, QR: q.QR, GeneratedAt: formatTime(q.GeneratedAt)}
}

func toStatusJSON(s service.StatusUpdate) statusJSON {
	return statusJSON{SessionID: s.SessionID, Status: s.Status, UpdatedAt: formatTime(s.UpdatedAt)}
}

// PostQRBatch is POST /api/qr/batch.
func (c *Client) PostQRBatch(ctx context.Context, idempotencyKey string, qrs []service.QRUpdate) (service.BatchResult, error) {
	if len(qrs) == 0 {
		return service.BatchResult{Success: true}, nil
	}
	body := struct {
		QRs []qrJSON `json:"qrs"`
	}{QRs: make([]qrJSON, len(qrs))}
	for i, q := range qrs {
		body.QRs[i] = toQRJSON(q)
	}
	return c.postBatch(ctx, "/api/qr/batch", "qrs", idempotencyKey, body, len(qrs))
}

// PostStatusBatch is POST /api/whatsapp/status/batch.
func (c *Client) PostStatusBatch(ctx context.Context, idempotencyKey string, statuses []service.StatusUpdate) (service.BatchResult, error) {
	if len(statuses) == 0 {
		return service.BatchResult{Success: true}, nil
	}
	body := struct {
		Statuses []statusJSON `json:"statuses"`
	}{Statuses: make([]statusJSON, len(statuses))}
	for i, s := range statuses {
		body.Statuses[i] = toStatusJSON(s)
	}
	return c.postBatch(ctx, "/api/whatsapp/status/batch", "statuses", idempotencyKey, body, len(statuses))
}

func (c *Client) postBatch(ctx context.Context, path, field, key string, body any, n int) (service.BatchResult, error) {
	var res service.BatchResult
	raw, err := c.do(ctx, http.MethodPost, path, key, body, field, n)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		// A 2xx means Laravel took the batch; a body we can't read must not
		// make the flusher send it again.
		c.log.WarnContext(ctx, "laravel batch answer is not the expected JSON", "path", path, "body", bodyStart(raw), "err", err)
		return service.BatchResult{Success: true, Updated: n}, nil
	}
	return res, nil
}

// PostQR is POST /api/qr (one QR per request, DELIVERY_MODE=direct).
func (c *Client) PostQR(ctx context.Context, idempotencyKey string, qr service.QRUpdate) error {
	_, err := c.do(ctx, http.MethodPost, "/api/qr", idempotencyKey, toQRJSON(qr), "", 1)
	return err
}

// PostStatus is POST /api/whatsapp/status (one status per request).
func (c *Client) PostStatus(ctx context.Context, idempotencyKey string, st service.StatusUpdate) error {
	_, err := c.do(ctx, http.MethodPost, "/api/whatsapp/status", idempotencyKey, toStatusJSON(st), "", 1)
	return err
}

// SessionStatus is GET /api/whatsapp/status/{id}: ENOTFOUND when Laravel
// answers 404 or knows the account but has no status for it.
func (c *Client) SessionStatus(ctx context.Context, sessionID string) (service.StatusRecord, error) {
	if err := service.ValidateSessionID(sessionID); err != nil {
		return service.StatusRecord{}, err
	}
	raw, err := c.do(ctx, http.MethodGet, "/api/whatsapp/status/"+url.PathEscape(sessionID), "", nil, "", 0)
	var de *service.DeliveryError
	if errors.As(err, &de) && de.StatusCode == http.StatusNotFound {
		return service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "laravel does not know session %s", sessionID)
	}
	if err != nil {
		return service.StatusRecord{}, err
	}
	var rec statusRecordJSON
	if err := json.Unmarshal(raw, &rec); err != nil {
		return service.StatusRecord{}, fmt.Errorf("laravel status of %s: decode %q: %w", sessionID, bodyStart(raw), err)
	}
	if rec.Status == nil || *rec.Status == "" {
		return service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "laravel has no status for session %s", sessionID)
	}
	out := service.StatusRecord{SessionID: sessionID, Status: service.Status(*rec.Status)}
	if !out.Status.Valid() {
		return service.StatusRecord{}, fmt.Errorf("laravel status of %s: unknown estado_qr %q", sessionID, *rec.Status)
	}
	if rec.LastStatusUpdate != nil && *rec.LastStatusUpdate != "" {
		t, err := parseLaravelTime(*rec.LastStatusUpdate)
		if err != nil {
			return service.StatusRecord{}, fmt.Errorf("laravel status of %s: last_status_update: %w", sessionID, err)
		}
		out.UpdatedAt = t
	}
	return out, nil
}

// laravelTimeLayouts are what Laravel emits: its JSON casts (RFC 3339 with
// micro- or milliseconds) and plain database datetimes (taken as UTC).
var laravelTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"}

func parseLaravelTime(s string) (time.Time, error) {
	for _, layout := range laravelTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

// do sends one request and returns the body of a 2xx answer, or a
// *service.DeliveryError. field and n let a 422 be mapped to item indices.
func (c *Client) do(ctx context.Context, method, path, key string, body any, field string, n int) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("laravel %s %s: encode: %w", method, path, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := *c.base
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("laravel %s %s: %w", method, path, err)
	}
	if err := c.setHeaders(req, key, payload); err != nil {
		return nil, err
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			msg = fmt.Sprintf("no answer within %s", c.timeout)
		}
		c.log.DebugContext(ctx, "laravel request failed", "method", method, "path", path, "err", err)
		return nil, &service.DeliveryError{Message: msg, Err: fmt.Errorf("laravel %s %s: %w", method, path, err)}
	}
	defer func() {
		// Draining lets the transport reuse the connection.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBytes))
		_ = resp.Body.Close()
	}()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	c.log.DebugContext(ctx, "laravel request", "method", method, "path", path,
		"status", resp.StatusCode, "request_ms", time.Since(start).Milliseconds())

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if readErr != nil {
			// The status line says Laravel took it; only the answer's body was cut.
			c.log.WarnContext(ctx, "laravel answer body unreadable", "path", path, "err", readErr)
		}
		return raw, nil
	}
	return nil, c.classify(resp, raw, field, n)
}

// setHeaders is the one place every request's headers are set; request
// signing (issue 9) belongs here, over the exact payload bytes.
func (c *Client) setHeaders(req *http.Request, key string, payload []byte) error {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if len(payload) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.sign(req, payload)
}

// sign adds the signature headers over the exact payload bytes. The
// webhook-id is the Idempotency-Key, so Laravel can deduplicate on either;
// each retry gets a fresh timestamp and so passes a staleness check.
func (c *Client) sign(req *http.Request, payload []byte) error {
	if c.signer == nil {
		return nil
	}
	id := req.Header.Get("Idempotency-Key")
	if id == "" {
		id = messageID()
	}
	c.signer.sign(req.Header, id, c.now(), payload)
	return nil
}
