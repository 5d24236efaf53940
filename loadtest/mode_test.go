package loadtest

import (
	"slices"
	"testing"
	"time"

	"wagateway/mocklaravel"
)

func TestPerSecondFromStats(t *testing.T) {
	origin := time.Unix(1000, 500e6)
	got := perSecondFromStats([]mocklaravel.SecondStats{{T: 999, Requests: 9}, {T: 1000, Requests: 2}, {T: 1003, Requests: 4}}, origin)
	if want := []int{2, 0, 0, 4}; !slices.Equal(got, want) {
		t.Fatalf("per second = %v, want %v", got, want)
	}
}
