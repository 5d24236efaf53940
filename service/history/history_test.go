package history_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wagateway/service"
	"wagateway/service/history"
	"wagateway/service/inmem"
)

type publishFunc func(context.Context, service.Update) error

func (f publishFunc) Publish(ctx context.Context, u service.Update) error { return f(ctx, u) }

type failingHistory struct{ service.StatusHistory }

func (failingHistory) Record(context.Context, string, service.StatusChange) error {
	return errors.New("redis down")
}

func TestRecordsPublishedStatusChanges(t *testing.T) {
	ctx := context.Background()
	at := time.Now()
	h := inmem.NewHistory(nil, 10, time.Hour)
	var refuse bool
	next := publishFunc(func(context.Context, service.Update) error {
		if refuse {
			return service.Errorf(service.EUNAVAILABLE, "outbox full")
		}
		return nil
	})
	p := history.Publisher(next, h, "gw-2", nil)
	for _, u := range []service.Update{
		{Kind: service.KindQR, SessionID: "s1", QR: "data:", At: at},
		{Kind: service.KindStatus, SessionID: "s1", Status: service.StatusActive, At: at.Add(time.Second)},
		{Kind: service.KindStatus, SessionID: "s1", Status: service.StatusInactive, Reason: service.ReasonBanned, At: at.Add(2 * time.Second)},
	} {
		if err := p.Publish(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	refuse = true // not accepted: not history either
	if err := p.Publish(ctx, service.Update{Kind: service.KindStatus, SessionID: "s1", Status: service.StatusPending, At: at.Add(3 * time.Second)}); err == nil {
		t.Fatal("the refusal was swallowed")
	}
	got, _ := h.History(ctx, "s1", 10)
	if len(got) != 2 || got[0].Status != service.StatusInactive || got[0].Reason != service.ReasonBanned ||
		got[0].Instance != "gw-2" || !got[0].At.Equal(at.Add(2*time.Second)) || got[1].Status != service.StatusActive {
		t.Fatalf("history = %+v", got)
	}

	// A history that fails does not fail the publish.
	p = history.Publisher(publishFunc(func(context.Context, service.Update) error { return nil }), failingHistory{}, "gw-2", nil)
	if err := p.Publish(ctx, service.Update{Kind: service.KindStatus, SessionID: "s1", Status: service.StatusActive, At: at}); err != nil {
		t.Fatalf("publish failed with the history: %v", err)
	}
}
