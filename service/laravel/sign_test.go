package laravel

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wagateway/mocklaravel"
	"wagateway/service"
)

// tamper rewrites request bodies after the client signed them.
type tamper struct{ from, to string }

func (t tamper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		b = bytes.ReplaceAll(b, []byte(t.from), []byte(t.to))
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestSignatureVerifiesInMockLaravel sends real requests from the client to
// the mock Laravel holding the same secret.
func TestSignatureVerifiesInMockLaravel(t *testing.T) {
	secrets := []string{"s3cret-plain", "whsec_" + base64.StdEncoding.EncodeToString([]byte("a 24-byte webhook key!!!"))}
	for _, secret := range secrets {
		t.Run(secret[:6], func(t *testing.T) {
			mock, err := mocklaravel.New(mocklaravel.Config{SigningSecret: secret})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { mock.Close() })
			srv := httptest.NewServer(mock)
			t.Cleanup(srv.Close)

			newClient := func(t *testing.T, secret string, rt http.RoundTripper, now time.Time) *Client {
				t.Helper()
				cfg := Config{BaseURL: srv.URL, SigningSecret: secret}
				if rt != nil {
					cfg.HTTPClient = &http.Client{Transport: rt}
				}
				c, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				c.now = func() time.Time { return now }
				return c
			}
			ctx := context.Background()
			at := time.Now().UTC()
			st := []service.StatusUpdate{{SessionID: "s1", Status: service.StatusActive, UpdatedAt: at}}
			qr := []service.QRUpdate{{SessionID: "s1", QR: "data:image/png;base64,iVBORw0KGgo=", GeneratedAt: at}}

			c := newClient(t, secret, nil, time.Now())
			if res, err := c.PostStatusBatch(ctx, "key-1", st); err != nil || !res.Success {
				t.Fatalf("signed status batch: %+v, %v", res, err)
			}
			if _, err := c.PostQRBatch(ctx, "key-2", qr); err != nil {
				t.Fatalf("signed QR batch: %v", err)
			}
			if err := c.PostStatus(ctx, "key-3", st[0]); err != nil {
				t.Fatalf("signed single status: %v", err)
			}
			if _, err := c.SessionStatus(ctx, "s1"); err != nil {
				t.Fatalf("signed GET (no idempotency key): %v", err)
			}

			refused := []struct {
				name   string
				client *Client
			}{
				{"tampered body", newClient(t, secret, tamper{`"active"`, `"inactive"`}, time.Now())},
				{"six minutes old", newClient(t, secret, nil, time.Now().Add(-6*time.Minute))},
				{"other secret", newClient(t, "some-other-secret", nil, time.Now())},
				{"unsigned", newClient(t, "", nil, time.Now())},
			}
			for _, tt := range refused {
				_, err := tt.client.PostStatusBatch(ctx, "key-4", st)
				var de *service.DeliveryError
				if !errors.As(err, &de) || de.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: err %v, want a 401 DeliveryError", tt.name, err)
				} else if !strings.Contains(de.Message, "Invalid signature") {
					t.Errorf("%s: message %q", tt.name, de.Message)
				}
			}
		})
	}
}

func TestSignHeaders(t *testing.T) {
	tl := newTestLaravel(t)
	c, err := New(Config{BaseURL: tl.URL, SigningSecret: "k"})
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return time.Unix(1700000000, 0) }
	if err := c.PostStatus(context.Background(), "idem-9", service.StatusUpdate{SessionID: "s1", Status: service.StatusActive, UpdatedAt: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	h := tl.requests[0].Header
	if h.Get("webhook-id") != "idem-9" || h.Get("webhook-timestamp") != "1700000000" ||
		!strings.HasPrefix(h.Get("webhook-signature"), "v1,") || len(h.Get("Signature")) != 64 {
		t.Errorf("headers: %v", h)
	}
}

func TestSigningSecretValidated(t *testing.T) {
	_, err := New(Config{BaseURL: "http://x", SigningSecret: "whsec_not base64!"})
	if service.ErrorCode(err) != service.EINVALID {
		t.Fatalf("err %v, want EINVALID", err)
	}
	if strings.Contains(err.Error(), "not base64!") {
		t.Errorf("the error shows the secret: %v", err)
	}
}
