package delivery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/config"
	"wagateway/service/delivery"
	"wagateway/service/inmem"
	"wagateway/service/laravel"
)

// benchFlusher is a batch-mode flusher on the in-memory outbox and the real
// Laravel client, against a server that accepts everything.
func benchFlusher(b *testing.B) (*delivery.Flusher, *inmem.Outbox) {
	b.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"updated":50,"failed":0}`)
	}))
	b.Cleanup(ts.Close)
	client, err := laravel.New(laravel.Config{BaseURL: ts.URL, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	d := config.Default()
	ob := inmem.NewOutbox(nil)
	f, err := delivery.New(delivery.Config{Mode: service.DeliveryModeBatch, BatchSize: 50, BatchInterval: d.BatchInterval,
		PriorityInterval: d.PriorityInterval, BackoffBase: d.BackoffBase, BackoffMax: d.BackoffMax}, ob, client, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return f, ob
}

// qrImage is the size of a rendered WhatsApp code's data URL.
var qrImage = "data:image/png;base64," + strings.Repeat("iVBORw0KGgo+", 117)

// BenchmarkPublishInmem is event → outbox: one QR update of one of 1,000
// sessions, each a newer code than its last.
func BenchmarkPublishInmem(b *testing.B) {
	f, _ := benchFlusher(b)
	ctx := context.Background()
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("user_%d", i)
	}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u := service.Update{Kind: service.KindQR, SessionID: ids[i%len(ids)], QR: qrImage, At: at.Add(time.Duration(i) * time.Millisecond)}
		if err := f.Publish(ctx, u); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkFlush50 is claim → coalesce → encode → send → ack of one
// 50-item QR batch over HTTP (loopback) with the real Laravel client.
func BenchmarkFlush50(b *testing.B) {
	f, ob := benchFlusher(b)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		b.StopTimer()
		for s := range 50 {
			n++
			u := service.Update{Kind: service.KindQR, Lane: service.LaneHigh, SessionID: fmt.Sprintf("user_%d", s), QR: qrImage, At: at.Add(time.Duration(n) * time.Millisecond)}
			if _, err := ob.Add(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := f.FlushAll(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if m := f.Metrics(ctx); m.Sent != int64(n) {
		b.Fatalf("sent %d of %d", m.Sent, n)
	}
}
