package loadtest

import "testing"

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
