package laravel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"wagateway/service"
)

// NoticeConfig configures a NoticeSender.
type NoticeConfig struct {
	URL *url.URL // ALERT_WEBHOOK_URL
	// SigningSecret signs notices exactly as deliveries are signed
	// (LARAVEL_SIGNING_SECRET; see sign.go); empty: unsigned.
	SigningSecret string
	HTTPClient    *http.Client // default: a plain client; the caller's context bounds each send
	Now           func() time.Time
}

// NoticeSender POSTs failure notices (service.Notice as JSON) to a webhook,
// with the same signature headers as requests to Laravel; the webhook-id is
// the notice id, so a receiver can de-duplicate.
type NoticeSender struct {
	url    string
	http   *http.Client
	signer *signer
	now    func() time.Time
}

var _ service.NoticeSender = (*NoticeSender)(nil)

// NewNoticeSender checks cfg and returns a sender.
func NewNoticeSender(cfg NoticeConfig) (*NoticeSender, error) {
	if cfg.URL == nil || (cfg.URL.Scheme != "http" && cfg.URL.Scheme != "https") || cfg.URL.Host == "" {
		return nil, service.Errorf(service.EINVALID, "ALERT_WEBHOOK_URL must be an absolute http(s) URL")
	}
	s := &NoticeSender{url: cfg.URL.String(), http: cfg.HTTPClient, now: cfg.Now}
	if s.http == nil {
		s.http = &http.Client{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.SigningSecret != "" {
		sg, err := newSigner(cfg.SigningSecret)
		if err != nil {
			return nil, err
		}
		s.signer = sg
	}
	return s, nil
}

// SendNotice posts n; any answer but 2xx is an error.
func (s *NoticeSender) SendNotice(ctx context.Context, n service.Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("notice %s: encode: %w", n.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notice %s: %w", n.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if s.signer != nil {
		s.signer.sign(req.Header, n.ID, s.now(), body)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// The URL may carry a token: the error names the notice, not the URL.
		return fmt.Errorf("notice %s: webhook unreachable: %w", n.ID, service.Errorf(service.EUNAVAILABLE, "%s", redactURLError(err)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("notice %s: webhook answered %d", n.ID, resp.StatusCode)
	}
	return nil
}

// redactURLError drops the URL from a client error (*url.Error says it).
func redactURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
