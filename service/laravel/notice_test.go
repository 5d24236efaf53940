package laravel_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/laravel"
)

// verifyWebhook checks the Standard Webhooks and spatie signatures the way
// a receiver would, from the headers and the raw body alone.
func verifyWebhook(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); h.Get("webhook-signature") != want {
		t.Errorf("webhook-signature %q, want %q", h.Get("webhook-signature"), want)
	}
	if ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Errorf("webhook-timestamp %q", h.Get("webhook-timestamp"))
	}
	raw := hmac.New(sha256.New, []byte(secret))
	raw.Write(body)
	if h.Get("Signature") != hex.EncodeToString(raw.Sum(nil)) {
		t.Errorf("Signature header wrong")
	}
}

func TestNoticeSenderSignsLikeDeliveries(t *testing.T) {
	const secret = "notice-secret"
	var got struct {
		h    http.Header
		body []byte
	}
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.h = r.Header.Clone()
		got.body, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/hooks/T0/secret-token")
	s, err := laravel.NewNoticeSender(laravel.NoticeConfig{URL: u, SigningSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	n := service.Notice{ID: "ntc_1", Type: service.NoticeLaneStalled, Instance: "gw-1", At: time.Now().UTC(),
		Lane: service.LaneHigh, Waiting: 3, StalledS: 125, Summary: "high lane delivered nothing"}
	if err := s.SendNotice(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	verifyWebhook(t, secret, got.h, got.body)
	if got.h.Get("webhook-id") != "ntc_1" || got.h.Get("Content-Type") != "application/json" {
		t.Errorf("headers: %v", got.h)
	}
	var back service.Notice
	if err := json.Unmarshal(got.body, &back); err != nil || back.Type != n.Type || back.Waiting != 3 || back.Lane != service.LaneHigh {
		t.Errorf("body %s: %v", got.body, err)
	}

	status = http.StatusBadGateway
	if err := s.SendNotice(context.Background(), n); err == nil {
		t.Error("a 502 from the webhook is no error")
	}
	srv.Close()
	err = s.SendNotice(context.Background(), n)
	if err == nil || service.ErrorCode(err) != service.EUNAVAILABLE {
		t.Fatalf("unreachable webhook: %v", err)
	}
	if s := err.Error(); strings.Contains(s, "secret-token") {
		t.Errorf("the error shows the webhook URL's token: %s", s)
	}
	if _, err := laravel.NewNoticeSender(laravel.NoticeConfig{URL: &url.URL{Scheme: "ftp", Host: "x"}}); err == nil {
		t.Error("an ftp URL was accepted")
	}
}
