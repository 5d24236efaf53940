package laravel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"wagateway/service"
)

// answerWith is a transport that answers every request in process.
type answerWith struct {
	status int
	header http.Header
	body   []byte
}

func (a answerWith) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body)), Request: req}, nil
}

// FuzzClientAnswers gives the client any answer Laravel could send: it must
// never panic, and a failure is always a classified *service.DeliveryError
// (or a plain error for a 2xx it cannot read), never a success by accident.
func FuzzClientAnswers(f *testing.F) {
	f.Add(200, "", []byte(`{"success":true,"updated":1,"failed":0}`))
	f.Add(422, "", []byte(`{"message":"bad","errors":{"statuses.0.estado_qr":["x"],"statuses.99":["y"],"statuses.-1":["z"]}}`))
	f.Add(429, "120", []byte(`{"message":"slow down"}`))
	f.Add(503, "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`<html>`))
	f.Add(200, "", []byte(`{"session_id":"s1","estado_qr":"active","last_status_update":"2026-11-27 12:00:00"}`))
	f.Add(200, "", []byte(`{"estado_qr":null}`))
	f.Add(404, "-5", []byte(nil))
	f.Add(301, "99999999999999999999", []byte("\xff"))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		h := http.Header{"Content-Type": {"application/json"}}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		c, err := New(Config{BaseURL: "http://laravel.test", SigningSecret: "k",
			HTTPClient: &http.Client{Transport: answerWith{status, h, body}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st := []service.StatusUpdate{{SessionID: "s1", Status: service.StatusActive, UpdatedAt: time.Unix(1, 0)}}
		_, err = c.PostStatusBatch(ctx, "k1", st)
		checkClassified(t, status, err)
		checkClassified(t, status, c.PostQR(ctx, "k2", service.QRUpdate{SessionID: "s1", QR: "q", GeneratedAt: time.Unix(1, 0)}))
		if _, err := c.SessionStatus(ctx, "s1"); err != nil && (status < 200 || status > 299) {
			var de *service.DeliveryError
			if !errors.As(err, &de) && service.ErrorCode(err) != service.ENOTFOUND {
				t.Fatalf("status %d: lookup error %v is not classified", status, err)
			}
		}
	})
}

func checkClassified(t *testing.T, status int, err error) {
	t.Helper()
	ok := status >= 200 && status <= 299
	var de *service.DeliveryError
	switch {
	case ok && err != nil:
		t.Fatalf("status %d: error %v", status, err)
	case !ok && !errors.As(err, &de):
		t.Fatalf("status %d: error %v is not a DeliveryError", status, err)
	case !ok && (de.StatusCode != status || de.RetryAfter < 0 || de.RetryAfter > 24*time.Hour):
		t.Fatalf("status %d: %+v", status, de)
	}
}
