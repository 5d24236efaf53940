// Package cachetest is the behaviour every service.Cache must have, run by
// the tests of each implementation (inmem, redis) so they cannot drift apart.
package cachetest

import (
	"context"
	"testing"
	"time"

	"wagateway/service"
)

// Run runs the suite; newCache returns an empty cache for each subtest.
func Run(t *testing.T, newCache func(t *testing.T) service.Cache) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	rec := func(st service.Status, at time.Time) service.StatusRecord {
		return service.StatusRecord{SessionID: "s1", Status: st, UpdatedAt: at}
	}
	set := func(t *testing.T, c service.Cache, r service.StatusRecord) {
		t.Helper()
		if err := c.SetStatus(context.Background(), r, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(t *testing.T, c service.Cache, want service.Status) {
		t.Helper()
		got, ok, err := c.GetStatus(context.Background(), "s1")
		if err != nil || !ok || got.Status != want {
			t.Fatalf("GetStatus = %+v, %v, %v; want %s", got, ok, err, want)
		}
	}

	// A late writer (an event handled after a logout) must not put an old
	// state back over a newer one.
	t.Run("an older status is dropped", func(t *testing.T) {
		c := newCache(t)
		set(t, c, rec(service.StatusInactive, t0.Add(time.Second)))
		set(t, c, rec(service.StatusPending, t0))
		expect(t, c, service.StatusInactive)
	})
	t.Run("a newer or equally old status replaces", func(t *testing.T) {
		c := newCache(t)
		set(t, c, rec(service.StatusPending, t0))
		set(t, c, rec(service.StatusActive, t0.Add(time.Millisecond)))
		expect(t, c, service.StatusActive)
		set(t, c, rec(service.StatusInactive, t0.Add(time.Millisecond)))
		expect(t, c, service.StatusInactive)
	})
	t.Run("after Invalidate any status is taken", func(t *testing.T) {
		c := newCache(t)
		set(t, c, rec(service.StatusActive, t0.Add(time.Hour)))
		if err := c.Invalidate(context.Background(), "s1"); err != nil {
			t.Fatal(err)
		}
		set(t, c, rec(service.StatusPending, t0))
		expect(t, c, service.StatusPending)
	})
}
