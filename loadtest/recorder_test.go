package loadtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wagateway/service"
)

func TestRecorderMeasuresStoredItems(t *testing.T) {
	origin := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now := origin.Add(2500 * time.Millisecond)
	status := http.StatusOK
	mock := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	rec := NewRecorder(mock, func() time.Time { return now })
	rec.Reset(origin)

	post := func(path, body string) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		rec.ServeHTTP(httptest.NewRecorder(), req)
	}
	post(pathQRBatch, `{"qrs":[{"session_id":"a","qr":"x","generated_at":"2026-01-01T12:00:02.000Z"},{"session_id":"b","qr":"y","generated_at":"2026-01-01T12:00:01.500Z"}]}`)
	post(pathStatusBatch, `{"statuses":[{"session_id":"a","estado_qr":"pending","updated_at":"2026-01-01T12:00:00.500Z"}]}`)
	post(pathStatus, `{"session_id":"a","estado_qr":"active","updated_at":"2026-01-01T12:00:02.400Z"}`)
	// A retry of a stored item counts once.
	post(pathStatus, `{"session_id":"a","estado_qr":"active","updated_at":"2026-01-01T12:00:02.400Z"}`)
	status = http.StatusServiceUnavailable
	post(pathQR, `{"session_id":"c","qr":"z","generated_at":"2026-01-01T12:00:02.000Z"}`)

	got := rec.Snapshot()
	if len(got.Events) != 4 {
		t.Fatalf("recorded %d events, want 4: %+v", len(got.Events), got.Events)
	}
	high := Summarize(got.Delays[service.LaneHigh])
	if high.Count != 3 || high.Max != 1000 || high.P50 != 500 {
		t.Errorf("HIGH delays = %+v, want 3 of 500, 1000, 100 ms", high)
	}
	normal := Summarize(got.Delays[service.LaneNormal])
	if normal.Count != 1 || normal.Max != 2000 {
		t.Errorf("NORMAL delays = %+v, want one of 2000 ms", normal)
	}
	if s := got.Slowest[service.LaneHigh]; len(s) != 3 || s[0].DelayMS != 1000 || s[2].DelayMS != 100 {
		t.Errorf("slowest HIGH = %+v, want 1000, 500, 100 ms", s)
	}
	// The QR batch and the two active statuses carry HIGH items, the
	// pending one NORMAL: a flush time per request and lane.
	if len(got.Flushes[service.LaneHigh]) != 3 || len(got.Flushes[service.LaneNormal]) != 1 {
		t.Errorf("flushes HIGH %d NORMAL %d, want 3 and 1", len(got.Flushes[service.LaneHigh]), len(got.Flushes[service.LaneNormal]))
	}
	if len(got.PerSecond) != 3 || got.PerSecond[2] != 4 {
		t.Errorf("per second = %v, want 4 stored requests in second 2", got.PerSecond)
	}
}

func TestParseDeliverySkipsUnreadableTimes(t *testing.T) {
	ev := ParseDelivery(pathStatusBatch, []byte(`{"statuses":[{"session_id":"a","estado_qr":"expired","updated_at":"yesterday"},{"session_id":"b","estado_qr":"expired","updated_at":"2026-01-01T12:00:00.000+02:00"}]}`))
	if len(ev) != 1 || ev[0].SessionID != "b" || ev[0].Lane() != service.LaneNormal {
		t.Fatalf("events = %+v", ev)
	}
	if ParseDelivery(pathQR, []byte(`not json`)) != nil && len(ParseDelivery(pathQR, []byte(`not json`))) != 0 {
		t.Fatal("bad JSON gave events")
	}
}
