package delivery

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"wagateway/service"
)

func coalesceItem(id string, kind service.Kind, session string, at int) service.Update {
	it := service.Update{ID: id, Kind: kind, SessionID: session, Lane: service.LaneHigh, At: time.Unix(int64(at), 0)}
	if kind == service.KindQR {
		it.QR = "q" + id
	} else {
		it.Status = service.StatusActive
	}
	return it
}

func TestCoalesce(t *testing.T) {
	tests := []struct {
		name       string
		items      []service.Update
		newest     []string // ids
		superseded map[string][]string
	}{
		{"empty", nil, nil, map[string][]string{}},
		{"distinct keys", []service.Update{
			coalesceItem("1", service.KindQR, "a", 1), coalesceItem("2", service.KindStatus, "a", 1), coalesceItem("3", service.KindQR, "b", 1),
		}, []string{"1", "2", "3"}, map[string][]string{}},
		{"newer later", []service.Update{
			coalesceItem("1", service.KindQR, "a", 1), coalesceItem("2", service.KindQR, "b", 1), coalesceItem("3", service.KindQR, "a", 2),
		}, []string{"3", "2"}, map[string][]string{"3": {"1"}}},
		{"older later (reordered)", []service.Update{
			coalesceItem("1", service.KindQR, "a", 5), coalesceItem("2", service.KindQR, "a", 3), coalesceItem("3", service.KindQR, "a", 4),
		}, []string{"1"}, map[string][]string{"1": {"2", "3"}}},
		{"same time: later id wins", []service.Update{
			coalesceItem("9", service.KindQR, "a", 1), coalesceItem("10", service.KindQR, "a", 1),
		}, []string{"10"}, map[string][]string{"10": {"9"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newest, superseded := coalesce(tt.items)
			var ids []string
			for _, it := range newest {
				ids = append(ids, it.ID)
			}
			if !slices.Equal(ids, tt.newest) {
				t.Errorf("newest = %v, want %v", ids, tt.newest)
			}
			if fmt.Sprint(superseded) != fmt.Sprint(tt.superseded) {
				t.Errorf("superseded = %v, want %v", superseded, tt.superseded)
			}
		})
	}
}

func TestChunkByKind(t *testing.T) {
	var items []service.Update
	for i := range 7 {
		items = append(items, coalesceItem(fmt.Sprint(i), service.KindStatus, fmt.Sprint("s", i), 1))
		items = append(items, coalesceItem(fmt.Sprint(100+i), service.KindQR, fmt.Sprint("q", i), 1))
	}
	chunks := chunkByKind(items, 3)
	var got []string
	for _, c := range chunks {
		got = append(got, fmt.Sprint(c[0].Kind, len(c)))
	}
	want := []string{"qr3", "qr3", "qr1", "status3", "status3", "status1"}
	if !slices.Equal(got, want) {
		t.Fatalf("chunks = %v, want %v", got, want)
	}
	if chunks[0][0].ID != "100" || chunks[3][0].ID != "0" {
		t.Fatalf("chunks lost the claim order")
	}
}

func TestIdempotencyKey(t *testing.T) {
	a, b, c := coalesceItem("1-0", service.KindQR, "a", 1), coalesceItem("2-0", service.KindQR, "b", 1), coalesceItem("3-0", service.KindQR, "c", 1)
	k := idempotencyKey(service.KindQR, []service.Update{a, b})
	if len(k) != 32 {
		t.Fatalf("key %q: want 32 hex digits", k)
	}
	if idempotencyKey(service.KindQR, []service.Update{b, a}) != k {
		t.Error("the key depends on item order")
	}
	for _, other := range []string{
		idempotencyKey(service.KindStatus, []service.Update{a, b}),
		idempotencyKey(service.KindQR, []service.Update{a, b, c}),
		idempotencyKey(service.KindQR, []service.Update{a}),
	} {
		if other == k {
			t.Errorf("different requests share key %s", k)
		}
	}
}
