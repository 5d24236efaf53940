package loadtest

import (
	"testing"
	"time"

	"wagateway/mocklaravel"
)

func TestRequireLoopback(t *testing.T) {
	for _, ok := range []string{"", "http://127.0.0.1:8000", "http://localhost:4000", "redis://127.0.0.1:6379/2", "http://[::1]:80"} {
		if err := requireLoopback(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.5:8000", "http://laravel.internal", "redis://0.0.0.0:6379", "not a url"} {
		if err := requireLoopback(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPerSecondFromStats(t *testing.T) {
	origin := time.Unix(1000, 500e6)
	got := perSecondFromStats([]mocklaravel.SecondStats{{T: 999, Requests: 9}, {T: 1000, Requests: 2}, {T: 1003, Requests: 4}}, origin)
	want := []int{2, 0, 0, 4}
	if len(got) != len(want) {
		t.Fatalf("per second = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("per second = %v, want %v", got, want)
		}
	}
}
