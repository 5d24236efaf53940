package logtest_test

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"wagateway/internal/logtest"
)

var _ io.Writer = (*logtest.Buffer)(nil)

func TestBufferConcurrentWrites(t *testing.T) {
	var b logtest.Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintf(&b, "w%d\n", i)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "\n"); got != 800 {
		t.Fatalf("%d lines, want 800", got)
	}
}
