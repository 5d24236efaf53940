package loadtest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"wagateway/internal/localserver"
	"wagateway/mocklaravel"
)

// Rig is what the long runs (soak, outage) stand on: a temporary directory,
// the gateway binary built into it, a local redis-server and a mock Laravel
// served in this process on loopback.
type Rig struct {
	Dir        string
	Gateway    string // the gateway binary
	Redis      *RedisServer
	LaravelURL string

	closers []func()
}

// StartRig builds and starts a Rig; name prefixes its directory. Close
// stops everything and removes the directory.
func StartRig(ctx context.Context, name, redisBin string, log *slog.Logger) (_ *Rig, err error) {
	r := &Rig{}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.Dir, err = os.MkdirTemp("", "wagateway-"+name+"-"); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = os.RemoveAll(r.Dir) })
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if r.Gateway, err = BuildGateway(ctx, root, r.Dir); err != nil {
		return nil, err
	}
	if r.Redis, err = StartRedis(ctx, redisBin, r.Dir); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = r.Redis.Stop() })
	mock, err := mocklaravel.New(mocklaravel.Config{Logger: log})
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = mock.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mock, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("mock Laravel stopped", "err", err)
		}
	}()
	r.closers = append(r.closers, func() { _ = srv.Close() })
	r.LaravelURL = "http://" + ln.Addr().String()
	return r, nil
}

// Close stops what StartRig started, in reverse order.
func (r *Rig) Close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// StartGateway starts the rig's gateway in batch mode on a free loopback
// port, against the rig's Redis and mock Laravel, with the intervals of
// time scale scale; extra settings come last (the last of duplicate
// variables wins). Close stops it.
func (r *Rig) StartGateway(ctx context.Context, scale float64, extra ...string) (*GatewayProcess, error) {
	port, err := localserver.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := NewSettings(scale, 50).Env("batch", addr, r.LaravelURL, r.Redis.URL,
		"file:"+filepath.Join(r.Dir, "wa.db"), filepath.Join(r.Dir, "data"))
	gw, err := StartGateway(ctx, r.Gateway, r.Dir, "gateway", addr, append(env, extra...))
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = gw.Stop(20 * time.Second) })
	return gw, nil
}
