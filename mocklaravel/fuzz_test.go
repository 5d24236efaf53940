package mocklaravel

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzAPI checks that no body makes any endpoint panic or answer 500
// (go test -fuzz FuzzAPI ./mocklaravel/; plain go test runs the seeds).
func FuzzAPI(f *testing.F) {
	for _, seed := range []string{
		`{"statuses":[{"session_id":"a","estado_qr":"active","updated_at":"2026-11-27T12:00:00Z"}]}`,
		`{"qrs":[{"session_id":"a","qr":"data:image/png;base64,iVBORw0KGgo=","generated_at":"2026-11-27T12:00:00.123+02:00"}]}`,
		`{"session_id":"a","estado_qr":"active"}`,
		`{"qrs":[null,1,"x",[],{}]}`, `{"statuses":{"0":{}}}`, `[]`, `null`, `"x"`, `{`, ``,
		`{"session_id":"\u0000","qr":"data:image/png;base64,===="}`,
	} {
		for path := range 4 {
			f.Add(path, seed)
		}
	}
	s, _ := newTestServer(f, Config{})
	paths := []string{"/api/qr/batch", "/api/whatsapp/status/batch", "/api/qr", "/api/whatsapp/status"}
	f.Fuzz(func(t *testing.T, path int, body string) {
		req := httptest.NewRequest(http.MethodPost, paths[uint(path)%uint(len(paths))], bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 422:
		default:
			t.Errorf("%s %q: %d %s", req.URL.Path, body, rec.Code, rec.Body.String())
		}
	})
}
