//go:build browser

package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wagateway/internal/gatewaytest"
	"wagateway/internal/localserver"
	"wagateway/internal/logtest"
	"wagateway/mocklaravel"
)

// gatewayBin is the gateway binary, built once by TestMain.
var gatewayBin string

func TestMain(m *testing.M) {
	os.Exit(gatewaytest.Main(m, "browser", &gatewayBin))
}

// waitFor polls cond every 100 ms until it holds, failing after limit.
var waitFor = gatewaytest.WaitFor

// Gateway is the gateway binary running with simulated phones.
type Gateway struct {
	URL    string
	APIKey string
	logs   *logtest.Buffer
}

// startLaravel serves the mock Laravel in this process.
func startLaravel(t *testing.T) (*mocklaravel.Server, string) {
	t.Helper()
	ml, err := mocklaravel.New(mocklaravel.Config{})
	if err != nil {
		t.Fatalf("mock laravel: %v", err)
	}
	srv := httptest.NewServer(ml)
	t.Cleanup(func() { srv.Close(); _ = ml.Close() })
	return ml, srv.URL
}

// startGateway runs the gateway on a free port with env added to the test
// defaults, waits for /health and stops it when the test ends.
func startGateway(t *testing.T, laravelURL string, env ...string) *Gateway {
	t.Helper()
	port, err := localserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g := &Gateway{URL: fmt.Sprintf("http://127.0.0.1:%d", port), APIKey: "browser-test-key", logs: &logtest.Buffer{}}
	cmd := exec.Command(gatewayBin)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		fmt.Sprintf("GATEWAY_ADDR=127.0.0.1:%d", port),
		"WA_DRIVER=sim",
		"WA_STORE=file:" + filepath.Join(dir, "whatsmeow.db"),
		"LARAVEL_URL=" + laravelURL,
		"API_KEY=" + g.APIKey,
		"LOG_LEVEL=debug",
		"SHUTDOWN_TIMEOUT=3s",
	}, env...)
	cmd.Stdout, cmd.Stderr = g.logs, g.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			logs := strings.Split(strings.TrimRight(g.logs.String(), "\n"), "\n")
			t.Logf("last lines of the gateway log:\n%s", strings.Join(logs[max(0, len(logs)-40):], "\n"))
		}
	})
	waitFor(t, time.Minute, "the gateway's /health", func() bool {
		select {
		case <-done:
			t.Fatalf("gateway exited:\n%s", g.logs.String())
		default:
		}
		res, err := http.Get(g.URL + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return g
}

// Do sends an API request with the key (when withKey) and decodes a JSON answer into out.
func (g *Gateway) Do(t *testing.T, method, path, body string, withKey bool, out any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if withKey {
		req.Header.Set("X-API-Key", g.APIKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// newBrowser starts headless Chromium (CHROMIUM_BIN, default Debian's
// chromium) and returns a tab's context, closed when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := os.Getenv("CHROMIUM_BIN")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no Chromium at %s (make browser installs Debian's chromium): %v", bin, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true), // root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// The whole scenario's deadline: a hung browser fails instead of blocking make test.
	ctx, cancelDeadline := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelDeadline(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifactsDir is where screenshots go: ARTIFACTS_DIR, else e2e/artifacts.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
