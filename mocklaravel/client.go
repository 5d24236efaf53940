package mocklaravel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client drives a running mock over its /__mock/ endpoints, for e2e and
// load tests that do not share its process.
type Client struct {
	baseURL string
	http    *http.Client
}

// NewClient returns a client of the mock at baseURL ("http://127.0.0.1:8000").
func NewClient(baseURL string) *Client {
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), http: &http.Client{Timeout: 30 * time.Second}}
}

// WithHTTPClient makes c use hc and returns c.
func (c *Client) WithHTTPClient(hc *http.Client) *Client {
	c.http = hc
	return c
}

// Health returns nil once the mock answers.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/__mock/health", nil, nil)
}

// Stats returns GET /__mock/stats.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	return st, c.do(ctx, http.MethodGet, "/__mock/stats", nil, &st)
}

// Reset clears accounts, stats, idempotency keys and faults.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/__mock/reset", nil, nil)
}

// SetFaults replaces the faults in force; Faults{} clears them.
func (c *Client) SetFaults(ctx context.Context, f Faults) error {
	return c.do(ctx, http.MethodPost, "/__mock/faults", f, nil)
}

// Faults returns the faults in force.
func (c *Client) Faults(ctx context.Context) (FaultState, error) {
	var st FaultState
	return st, c.do(ctx, http.MethodGet, "/__mock/faults", nil, &st)
}

// Accounts lists every account.
func (c *Client) Accounts(ctx context.Context) ([]Account, error) {
	return c.AccountsWithStatus(ctx, "")
}

// AccountsWithStatus lists the accounts whose estado_qr is estadoQR ("" for all).
func (c *Client) AccountsWithStatus(ctx context.Context, estadoQR string) ([]Account, error) {
	path := "/__mock/accounts"
	if estadoQR != "" {
		path += "?estado_qr=" + url.QueryEscape(estadoQR)
	}
	var out struct {
		Accounts []Account `json:"accounts"`
	}
	return out.Accounts, c.do(ctx, http.MethodGet, path, nil, &out)
}

// Account returns one account; false when there is none.
func (c *Client) Account(ctx context.Context, id string) (Account, bool, error) {
	var a Account
	err := c.do(ctx, http.MethodGet, "/__mock/accounts/"+url.PathEscape(id), nil, &a)
	if isNotFound(err) {
		return Account{}, false, nil
	}
	return a, err == nil, err
}

// UpsertAccount creates or overwrites an account exactly as given.
func (c *Client) UpsertAccount(ctx context.Context, a Account) error {
	return c.do(ctx, http.MethodPost, "/__mock/accounts", a, nil)
}

// DeleteAccount removes an account; false when there was none.
func (c *Client) DeleteAccount(ctx context.Context, id string) (bool, error) {
	err := c.do(ctx, http.MethodDelete, "/__mock/accounts/"+url.PathEscape(id), nil, nil)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// IdempotencyCount returns how many times each endpoint saw key.
func (c *Client) IdempotencyCount(ctx context.Context, key string) (map[string]int64, error) {
	var out struct {
		Seen map[string]int64 `json:"seen"`
	}
	return out.Seen, c.do(ctx, http.MethodGet, "/__mock/idempotency?key="+url.QueryEscape(key), nil, &out)
}

// ClientError is a non-2xx answer of the mock.
type ClientError struct {
	Method, Path string
	StatusCode   int
	Message      string
}

func (e *ClientError) Error() string {
	return fmt.Sprintf("mocklaravel: %s %s: %d %s", e.Method, e.Path, e.StatusCode, e.Message)
}

func isNotFound(err error) bool {
	var e *ClientError
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("mocklaravel: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return fmt.Errorf("mocklaravel: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("mocklaravel: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("mocklaravel: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &m) // a body that is not JSON leaves the message empty
		return &ClientError{Method: method, Path: path, StatusCode: resp.StatusCode, Message: m.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("mocklaravel: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}
