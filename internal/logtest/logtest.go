// Package logtest is a goroutine-safe log buffer for tests.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is an io.Writer that several goroutines may write while a test
// reads String. The zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
