package sim_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"wagateway/service/sim"
)

// BenchmarkPairingPhones starts 1,000 phones that each show their first
// code and wait (real clock, nothing fires within the benchmark), and
// reports what a waiting phone costs: heap plus goroutine stack per phone.
// Drivers are closed only at the end (a stopped timer can stay referenced
// for a while, and would blur the next iteration's measure), so give it a
// fixed count:
//
//	go test -run '^$' -bench PairingPhones -benchmem -benchtime 10x ./service/sim/
func BenchmarkPairingPhones(b *testing.B) {
	const phones = 1000
	ctx := context.Background()
	var perPhone float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		d := sim.New(sim.Config{Seed: 1, BufferSize: 2 * phones})
		for i := range phones {
			if err := d.Start(ctx, fmt.Sprintf("p%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		for range phones { // every phone shows its first code, then waits
			<-d.Events()
		}
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		used := int64(after.HeapAlloc+after.StackInuse) - int64(before.HeapAlloc+before.StackInuse)
		perPhone = float64(used) / phones
		b.Cleanup(func() { d.Close() })
		b.StartTimer()
	}
	b.ReportMetric(perPhone, "B/phone")
}
