package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wagateway/service"
)

// GatewayClient calls the gateway's HTTP API with a bounded connection
// pool, so 10,000 sessions do not mean 10,000 sockets.
type GatewayClient struct {
	base string
	http *http.Client
}

// NewGatewayClient returns a client keeping at most conns connections.
func NewGatewayClient(base string, conns int) *GatewayClient {
	conns = max(conns, 1)
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
	}
	return &GatewayClient{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Close drops idle connections.
func (c *GatewayClient) Close() { c.http.CloseIdleConnections() }

// Health is GET /health.
func (c *GatewayClient) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/health", nil, nil)
}

// Start is POST /start {"session_id": id}.
func (c *GatewayClient) Start(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/start", map[string]string{"session_id": id}, nil)
}

// Scan is POST /sim/sessions/{id}/scan.
func (c *GatewayClient) Scan(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/sim/sessions/"+url.PathEscape(id)+"/scan", nil, nil)
}

// CloseSession is POST /sim/sessions/{id}/close.
func (c *GatewayClient) CloseSession(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/sim/sessions/"+url.PathEscape(id)+"/close", nil, nil)
}

// Session is GET /sessions/{id}; the answer is read and dropped.
func (c *GatewayClient) Session(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodGet, "/sessions/"+url.PathEscape(id), nil, nil)
}

// BatchMetrics is GET /metrics/batch.
func (c *GatewayClient) BatchMetrics(ctx context.Context) (service.BatchMetrics, error) {
	var m service.BatchMetrics
	err := c.do(ctx, http.MethodGet, "/metrics/batch", nil, &m)
	return m, err
}

// Goroutines reads go_goroutines from GET /metrics (Prometheus text).
func (c *GatewayClient) Goroutines(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	// Read every second, 15 to 60 times as often as Prometheus would: no
	// gzip on loopback, so the measurement costs the gateway less CPU.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, &APIError{Status: resp.StatusCode}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: read: %w", err)
	}
	return PromValue(string(raw), "go_goroutines")
}

// PromValue returns the value of an unlabelled sample in Prometheus text.
func PromValue(text, name string) (int64, error) {
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name+" ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s=%q: %w", name, rest, err)
		}
		return int64(f), nil
	}
	return 0, fmt.Errorf("no metric %s", name)
}

// Do runs one plan action.
func (c *GatewayClient) Do(ctx context.Context, a Action) error {
	switch a.Kind {
	case ActionStart, ActionRestart:
		return c.Start(ctx, a.SessionID)
	case ActionScan:
		return c.Scan(ctx, a.SessionID)
	case ActionClose:
		return c.CloseSession(ctx, a.SessionID)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// APIError is a non-2xx answer of the gateway.
type APIError struct {
	Status int
	Body   string
}

func (e *APIError) Error() string { return fmt.Sprintf("gateway answered %d: %s", e.Status, e.Body) }

func (c *GatewayClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		if len(raw) > 200 {
			raw = raw[:200]
		}
		return &APIError{Status: resp.StatusCode, Body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// SessionState is what GET /sessions/{id} says of a session.
type SessionState struct {
	Status    string     `json:"estado_qr"`
	QR        *string    `json:"qr"`
	UpdatedAt *time.Time `json:"updated_at"`
	Source    string     `json:"source"`
}

// State is GET /sessions/{id}, decoded.
func (c *GatewayClient) State(ctx context.Context, id string) (SessionState, error) {
	var s SessionState
	err := c.do(ctx, http.MethodGet, "/sessions/"+url.PathEscape(id), nil, &s)
	return s, err
}
