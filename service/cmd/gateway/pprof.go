package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofServer serves net/http/pprof on PPROF_ADDR (config allows loopback
// only) on its own mux and listener, apart from the API and its API_KEY.
type pprofServer struct {
	srv    *http.Server
	ln     net.Listener
	served chan error
}

// startPprof starts the profile server when PPROF_ADDR is set.
func (m *Main) startPprof() error {
	if m.Config.PprofAddr == "" {
		return nil
	}
	p, err := startPprof(m.Config.PprofAddr, m.Logger)
	if err != nil {
		return err
	}
	m.pprof = p
	return nil
}

// startPprof listens on addr and serves the profiles until Close.
func startPprof(addr string, log *slog.Logger) (*pprofServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on PPROF_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := &pprofServer{
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		ln:     ln,
		served: make(chan error, 1),
	}
	go func() { p.served <- p.srv.Serve(ln) }()
	log.Warn("pprof listening: profiles expose memory contents, keep PPROF_ADDR on loopback", "addr", ln.Addr().String())
	return p, nil
}

// Addr is the address actually listened on.
func (p *pprofServer) Addr() string { return p.ln.Addr().String() }

// Close stops the server; a profile still being taken is cut off at ctx.
func (p *pprofServer) Close(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = p.srv.Close()
	}
	if serr := <-p.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("pprof shutdown: %w", err)
	}
	return nil
}
