package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	tmock "github.com/stretchr/testify/mock"

	"wagateway/internal/clocktest"
	"wagateway/service"
	"wagateway/service/inmem"
	"wagateway/service/mock"
	"wagateway/service/session"
)

func TestSessionLookupChain(t *testing.T) {
	any := tmock.Anything
	at := mgrT0.Add(-time.Minute)
	rec := func(st service.Status) service.StatusRecord {
		return service.StatusRecord{SessionID: "a", Status: st, UpdatedAt: at}
	}
	tests := []struct {
		name     string
		setup    func(h *mgrHarness)
		source   service.Source
		status   service.Status
		active   bool
		code     string // error code of Session
		activeEr string // error code of IsSessionActive
	}{
		{
			name: "l1",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(rec(service.StatusActive), true, nil).Times(2)
			},
			source: service.SourceL1, status: service.StatusActive, active: true,
		},
		{
			name: "l1 pending brings its qr",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(rec(service.StatusPending), true, nil).Times(2)
				h.l1.EXPECT().GetQR(any, "a").Return(service.QR{SessionID: "a", Image: "img"}, true, nil).Times(2)
			},
			source: service.SourceL1, status: service.StatusPending,
		},
		{
			name: "l2 fills l1",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.l2.EXPECT().GetStatus(any, "a").Return(rec(service.StatusInactive), true, nil).Times(2)
				h.l1.EXPECT().SetStatus(any, rec(service.StatusInactive), 300*time.Second).Return(nil).Times(2)
			},
			source: service.SourceL2, status: service.StatusInactive,
		},
		{
			name: "l1 error counts as a miss",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, errors.New("boom")).Times(2)
				h.l2.EXPECT().GetStatus(any, "a").Return(rec(service.StatusExpired), true, nil).Times(2)
				h.l1.EXPECT().SetStatus(any, rec(service.StatusExpired), 300*time.Second).Return(nil).Times(2)
			},
			source: service.SourceL2, status: service.StatusExpired,
		},
		{
			name: "laravel fills both with the connection ttl",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.l2.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.laravel.EXPECT().SessionStatus(any, "a").Return(rec(service.StatusActive), nil).Times(2)
				h.l1.EXPECT().SetStatus(any, rec(service.StatusActive), 30*time.Second).Return(nil).Times(2)
				h.l2.EXPECT().SetStatus(any, rec(service.StatusActive), 30*time.Second).Return(nil).Times(2)
			},
			source: service.SourceLaravel, status: service.StatusActive, active: true,
		},
		{
			name: "nobody knows it",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.l2.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.laravel.EXPECT().SessionStatus(any, "a").Return(service.StatusRecord{}, service.Errorf(service.ENOTFOUND, "404")).Times(2)
			},
			source: service.SourceNone, code: service.ENOTFOUND,
		},
		{
			name: "laravel down",
			setup: func(h *mgrHarness) {
				h.l1.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.l2.EXPECT().GetStatus(any, "a").Return(service.StatusRecord{}, false, nil).Times(2)
				h.laravel.EXPECT().SessionStatus(any, "a").Return(service.StatusRecord{}, &service.DeliveryError{Message: "refused"}).Times(2)
			},
			source: service.SourceNone, code: service.EUNAVAILABLE, activeEr: service.EUNAVAILABLE,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Session and IsSessionActive each walk the chain: every call twice.
			h := newMgrHarness(t, func(h *mgrHarness) { h.mockCaches(); tt.setup(h) })
			ctx := context.Background()
			s, src, err := h.m.Session(ctx, "a")
			if src != tt.source || service.ErrorCode(err) != tt.code || s.Status != tt.status {
				t.Fatalf("Session = %s from %s, %v; want %s from %s, code %q", s.Status, src, err, tt.status, tt.source, tt.code)
			}
			if tt.status == service.StatusPending && (s.QR == nil || s.QR.Image != "img") {
				t.Errorf("pending session without its QR: %+v", s)
			}
			active, src, err := h.m.IsSessionActive(ctx, "a")
			if active != tt.active || src != tt.source || service.ErrorCode(err) != tt.activeEr {
				t.Errorf("IsSessionActive = %v from %s, %v", active, src, err)
			}
		})
	}
}

func TestSessionLiveFirst(t *testing.T) {
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.mockCaches() // no cache or Laravel expectations: any call fails
		h.expectStarts("a")
	})
	h.start(t, "a")
	s, src, err := h.m.Session(context.Background(), "a")
	if err != nil || src != service.SourceLive || s.Status != service.StatusPending {
		t.Fatalf("Session = %+v, %s, %v", s, src, err)
	}
	if _, _, err := h.m.Session(context.Background(), "../etc"); service.ErrorCode(err) != service.EINVALID {
		t.Errorf("bad id: %v", err)
	}
}

func TestSessionsListsLiveAndKnown(t *testing.T) {
	any := tmock.Anything
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.mockCaches()
		h.expectStarts("a")
		for _, id := range []string{"b", "a", "c"} {
			_ = h.leases.Register(context.Background(), id)
		}
		_, _, _ = h.leases.Take(context.Background(), "b", "gw-2", time.Hour)
		h.l1.EXPECT().GetStatus(any, "b").Return(service.StatusRecord{SessionID: "b", Status: service.StatusInactive}, true, nil).Once()
		h.l1.EXPECT().GetStatus(any, "c").Return(service.StatusRecord{}, false, nil).Once()
		h.l2.EXPECT().GetStatus(any, "c").Return(service.StatusRecord{}, false, nil).Once()
	})
	h.start(t, "a")
	list, err := h.m.Sessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id     string
		status service.Status
	}{{"a", service.StatusPending}, {"b", service.StatusInactive}, {"c", ""}}
	if len(list) != len(want) {
		t.Fatalf("Sessions = %+v", list)
	}
	for i, w := range want {
		if list[i].ID != w.id || list[i].Status != w.status {
			t.Errorf("Sessions[%d] = %s %q, want %s %q", i, list[i].ID, list[i].Status, w.id, w.status)
		}
	}
	if list[0].Instance != "gw-1" || list[1].Instance != "gw-2" || list[2].Instance != "" {
		t.Errorf("instances %q %q %q, want gw-1 gw-2 and none", list[0].Instance, list[1].Instance, list[2].Instance)
	}
}

// expectUnlinkAndForget expects what logout and delete both do to a
// started session: cache and publish its inactive status, unlink the
// device, drop the session from both caches and from the known set, once.
func expectUnlinkAndForget(id string) func(*mgrHarness) {
	any := tmock.Anything
	inactive := tmock.MatchedBy(func(rec service.StatusRecord) bool { return rec.Status == service.StatusInactive })
	return func(h *mgrHarness) {
		h.mockCaches()
		h.expectStarts(id)
		h.expectPublishes(1)
		h.drv.EXPECT().Logout(any, id).Return(nil).Once()
		h.l1.EXPECT().SetStatus(any, inactive, any).Return(nil).Once()
		h.l2.EXPECT().SetStatus(any, inactive, any).Return(nil).Once()
		h.l1.EXPECT().Invalidate(any, id).Return(nil).Once()
		h.l2.EXPECT().Invalidate(any, id).Return(nil).Once()
	}
}

func TestLogoutStopDelete(t *testing.T) {
	any := tmock.Anything
	t.Run("logout", func(t *testing.T) {
		h := newMgrHarness(t, expectUnlinkAndForget("a"))
		h.start(t, "a")
		if err := h.m.Logout(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusInactive, service.ReasonLogout)
		h.ended(t, "a")
		h.forgotten(t, "a")
	})
	t.Run("stop keeps the device", func(t *testing.T) {
		h := newMgrHarness(t, nil)
		h.expectStarts("a")
		h.expectStops("a")
		h.expectPublishes(1)
		h.start(t, "a")
		if err := h.m.Stop(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusInactive, service.ReasonStopped)
		h.drv.AssertNotCalled(t, "Logout", any, "a")
		if err := h.m.Stop(context.Background(), "a"); service.ErrorCode(err) != service.ENOTFOUND {
			t.Errorf("second stop: %v", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		h := newMgrHarness(t, expectUnlinkAndForget("a"))
		h.expectStops("a") // delete stops the session, then unlinks it
		h.start(t, "a")
		if err := h.m.Delete(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusInactive, service.ReasonStopped)
		h.ended(t, "a")
		h.forgotten(t, "a")
	})
	t.Run("unknown session", func(t *testing.T) {
		h := newMgrHarness(t, func(h *mgrHarness) {
			_ = h.leases.Register(context.Background(), "x")
			h.drv.EXPECT().Paired(any).Return([]string{"y"}, nil).Times(2) // logout and delete each look
		})
		if err := h.m.Logout(context.Background(), "a"); service.ErrorCode(err) != service.ENOTFOUND {
			t.Errorf("logout: %v", err)
		}
		if err := h.m.Delete(context.Background(), "a"); service.ErrorCode(err) != service.ENOTFOUND {
			t.Errorf("delete: %v", err)
		}
	})
}

func TestRestoreStartsWhatThisInstanceCanLease(t *testing.T) {
	any := tmock.Anything
	h := newMgrHarness(t, func(h *mgrHarness) {
		h.drv.EXPECT().Paired(any).Return([]string{"b", "a"}, nil).Once()
		h.expectStarts("a")
		_, _, _ = h.leases.Take(context.Background(), "b", "gw-2", time.Hour)
	})
	n, err := h.m.Restore(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Restore = %d, %v; want 1", n, err)
	}
	h.drv.AssertNotCalled(t, "Start", any, "b")
}

func TestCloseStopsAndPublishes(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a", "b")
	h.expectStops("a", "b")
	h.expectPublishes(2)
	h.start(t, "a")
	h.start(t, "b")
	if err := h.m.Close(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wantItem(t, h.next(t), service.KindStatus, service.LaneHigh, service.StatusInactive, service.ReasonStopped)
	}
	h.drv.AssertNumberOfCalls(t, "Stop", 2)
	h.drv.AssertNotCalled(t, "Logout", tmock.Anything, tmock.Anything)
	h.ended(t, "a")
	h.ended(t, "b")
}

// With other instances alive, Close hands the sessions over: nothing is
// published (Laravel keeps them active), and each is an orphan the others
// take at once.
func TestCloseWithHandoverPublishesNothing(t *testing.T) {
	h := newMgrHarness(t, nil)
	h.expectStarts("a", "b")
	h.expectStops("a", "b") // and no Publish
	h.start(t, "a")
	h.start(t, "b")
	if err := h.m.Close(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	select {
	case it := <-h.items:
		t.Fatalf("published %s on handover", it)
	default:
	}
	h.drv.AssertNumberOfCalls(t, "Stop", 2)
	orphans, _ := h.leases.Orphans(context.Background())
	if len(orphans) != 2 || !hasKey(orphans, "a") || !hasKey(orphans, "b") || orphans["a"] != "" {
		t.Fatalf("Orphans after handover = %v, want a and b, handed over (no owner)", orphans)
	}
	if _, ok, _ := h.leases.Take(context.Background(), "a", "gw-2", time.Hour); !ok {
		t.Fatal("another instance cannot take a handed-over session")
	}
}

// batchingCache is an L2 that reads statuses in batches, and counts how it
// was asked.
type batchingCache struct {
	*inmem.Cache
	single, batches int
}

func (c *batchingCache) GetStatus(ctx context.Context, id string) (service.StatusRecord, bool, error) {
	c.single++
	return c.Cache.GetStatus(ctx, id)
}

func (c *batchingCache) GetStatuses(ctx context.Context, ids []string) (map[string]service.StatusRecord, error) {
	c.batches++
	out := map[string]service.StatusRecord{}
	for _, id := range ids {
		if rec, ok, err := c.Cache.GetStatus(ctx, id); err == nil && ok {
			out[id] = rec
		}
	}
	return out, nil
}

// The cluster-wide list reads every session other instances run from L2 in
// one batch when L2 can (service.StatusBatcher), not one read per session:
// at 100,000 sessions one read each took the list past any timeout.
func TestSessionsReadsL2InOneBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := clocktest.New(mgrT0)
	l1, l2 := inmem.NewCache(clock), &batchingCache{Cache: inmem.NewCache(clock)}
	leases := inmem.NewLeases(clock)
	const n = 1000
	for i := range n {
		id := fmt.Sprintf("s%04d", i)
		_ = leases.Register(ctx, id)
		if i%2 == 0 {
			_ = l2.SetStatus(ctx, service.StatusRecord{SessionID: id, Status: service.StatusActive, UpdatedAt: mgrT0}, time.Hour)
		}
	}
	_ = l1.SetStatus(ctx, service.StatusRecord{SessionID: "s0001", Status: service.StatusExpired, UpdatedAt: mgrT0}, time.Hour)
	m, err := session.New(testConfig(session.Config{Instance: "gw-1", Clock: clock}), session.Deps{
		Driver: mock.NewDriver(t), L1: l1, L2: l2, Publisher: mock.NewPublisher(t), Laravel: mock.NewLaravel(t),
		Leases: leases, Render: func(code string) (string, error) { return code, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := m.Sessions(ctx)
	if err != nil || len(list) != n {
		t.Fatalf("Sessions: %d sessions, %v; want %d", len(list), err, n)
	}
	for i, s := range list {
		want := service.Status("")
		switch {
		case i == 1:
			want = service.StatusExpired // from L1
		case i%2 == 0:
			want = service.StatusActive // from L2
		}
		if s.ID != fmt.Sprintf("s%04d", i) || s.Status != want {
			t.Fatalf("Sessions[%d] = %s %q, want %q", i, s.ID, s.Status, want)
		}
	}
	if l2.batches != 1 || l2.single != 0 {
		t.Fatalf("L2 read %d times one by one and %d times in batches; want one batch", l2.single, l2.batches)
	}
}

// Close hands sessions over several at once: an instance may hold tens of
// thousands, and one at a time would not fit in SHUTDOWN_TIMEOUT. Each
// driver Stop here returns only once four are in flight together, which a
// Close that stops one session at a time never reaches.
func TestCloseHandsSessionsOverSeveralAtOnce(t *testing.T) {
	ids := []string{"a", "b", "c", "d"}
	h := newMgrHarness(t, nil)
	h.expectStarts(ids...)
	for _, id := range ids {
		h.start(t, id)
	}
	var inFlight atomic.Int32
	together := make(chan struct{})
	h.drv.EXPECT().Stop(tmock.Anything, tmock.Anything).RunAndReturn(func(ctx context.Context, id string) error {
		if inFlight.Add(1) == int32(len(ids)) {
			close(together)
		}
		select {
		case <-together:
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("stop %s: the other stops never came while it was in flight", id)
		}
	}).Times(len(ids))
	if err := h.m.Close(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	orphans, _ := h.leases.Orphans(context.Background())
	if len(orphans) != len(ids) {
		t.Fatalf("Orphans after handover = %v, want all of %v", orphans, ids)
	}
}

// A pairing code goes to L2 only when other instances read it (SharedL2,
// Redis): an L2 of this process alone outlives the process, and a code
// does not, so after a restart it would show a code no phone can pair
// with. Codes such an L2 still holds are not shown either.
func TestPairingCodesGoToL2OnlyWhenShared(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			h := newMgrHarness(t, func(h *mgrHarness) { h.sharedL2 = shared })
			h.expectStarts("a")
			h.expectPublishes(2) // the code and pending
			h.run(t)
			h.start(t, "a")
			h.send(qrEvent("a", "code-a", h.clock.Now()))
			h.next(t)
			h.next(t)
			ctx := context.Background()
			if _, ok, _ := h.cache1.GetQR(ctx, "a"); !ok {
				t.Fatal("the code is not in L1")
			}
			if _, ok, _ := h.cache2.GetQR(ctx, "a"); ok != shared {
				t.Fatalf("code in L2: %v, want %v", ok, shared)
			}
			if rec, ok, _ := h.cache2.GetStatus(ctx, "a"); !ok || rec.Status != service.StatusPending {
				t.Fatalf("L2 status %+v, %v; want pending", rec, ok)
			}

			// "b" runs nowhere; L2 alone knows it, pending, with a code.
			at := h.clock.Now()
			if err := h.cache2.SetStatus(ctx, service.StatusRecord{SessionID: "b", Status: service.StatusPending, UpdatedAt: at}, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := h.cache2.SetQR(ctx, service.QR{SessionID: "b", Code: "code-b", Image: "img-b", IssuedAt: at, ExpiresAt: at.Add(time.Minute)}, time.Minute); err != nil {
				t.Fatal(err)
			}
			s, src, err := h.m.Session(ctx, "b")
			if err != nil || src != service.SourceL2 || s.Status != service.StatusPending {
				t.Fatalf("Session(b) = %+v from %s, %v", s, src, err)
			}
			if (s.QR != nil) != shared {
				t.Fatalf("Session(b) QR %+v, want one: %v", s.QR, shared)
			}
			if _, ok, _ := h.cache1.GetQR(ctx, "b"); ok != shared {
				t.Fatalf("L1 filled with b's code: %v, want %v", ok, shared)
			}
		})
	}
}
