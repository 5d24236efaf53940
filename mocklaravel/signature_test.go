package mocklaravel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signFor builds the headers a correct signer sends; written out here from
// the specs rather than shared with the gateway's signer.
func signFor(secret, id string, at time.Time, body string) []string {
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, _ = base64.StdEncoding.DecodeString(rest)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + body))
	sp := hmac.New(sha256.New, []byte(secret))
	sp.Write([]byte(body))
	return []string{
		"webhook-id", id,
		"webhook-timestamp", ts,
		"webhook-signature", "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"Signature", hex.EncodeToString(sp.Sum(nil)),
	}
}

// The Standard Webhooks specification's own example must verify.
func TestCheckSignatureStandardWebhooksVector(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	sp := hmac.New(sha256.New, []byte(secret))
	sp.Write(body)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	h.Set("Signature", hex.EncodeToString(sp.Sum(nil)))
	if err := checkSignature(secret, h, body, time.Unix(1614265330, 0).Add(time.Minute)); err != nil {
		t.Fatalf("spec example refused: %v", err)
	}
	// A rotated key list with one valid signature passes too.
	h.Set("webhook-signature", "v1,AAAA v1a,xyz v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	if err := checkSignature(secret, h, body, time.Unix(1614265330, 0)); err != nil {
		t.Fatalf("signature list refused: %v", err)
	}
}

func TestSignedRequests(t *testing.T) {
	for _, secret := range []string{"plain-secret", "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))} {
		t.Run(secret[:5], func(t *testing.T) {
			s, clock := newTestServer(t, Config{SigningSecret: secret})
			body := `{"statuses":[{"session_id":"s1","estado_qr":"active","updated_at":"` + at(0) + `"}]}`
			good := signFor(secret, "key-1", clock.Now(), body)
			with := func(hs []string, name, value string) []string {
				out := append([]string(nil), hs...)
				for i := 0; i+1 < len(out); i += 2 {
					if out[i] == name {
						out[i+1] = value
					}
				}
				return out
			}
			tests := []struct {
				name    string
				body    string
				headers []string
				want    int
			}{
				{"valid", body, good, http.StatusOK},
				{"unsigned", body, nil, http.StatusUnauthorized},
				{"tampered body", strings.Replace(body, "active", "inactive", 1), good, http.StatusUnauthorized},
				{"other id", body, with(good, "webhook-id", "key-2"), http.StatusUnauthorized},
				{"six minutes old", body, signFor(secret, "key-1", clock.Now().Add(-6*time.Minute), body), http.StatusUnauthorized},
				{"six minutes ahead", body, signFor(secret, "key-1", clock.Now().Add(6*time.Minute), body), http.StatusUnauthorized},
				{"four minutes old", body, signFor(secret, "key-1", clock.Now().Add(-4*time.Minute), body), http.StatusOK},
				{"wrong secret", body, signFor(secret+"x", "key-1", clock.Now(), body), http.StatusUnauthorized},
				{"spatie header missing", body, with(good, "Signature", ""), http.StatusUnauthorized},
				{"spatie header wrong", body, with(good, "Signature", strings.Repeat("0", 64)), http.StatusUnauthorized},
				{"timestamp not a number", body, with(good, "webhook-timestamp", "soon"), http.StatusUnauthorized},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", tt.body, tt.headers...)
					if a.status != tt.want {
						t.Fatalf("status %d, want %d: %s", a.status, tt.want, a.raw)
					}
					if tt.want == http.StatusUnauthorized && !strings.HasPrefix(a.body["message"].(string), "Invalid signature") {
						t.Errorf("message %q", a.body["message"])
					}
				})
			}
			// A GET carries an empty body: it is signed too.
			a := call(t, s, http.MethodGet, "/api/whatsapp/status/s1", nil, signFor(secret, "msg_1", clock.Now(), "")...)
			if a.status != http.StatusOK {
				t.Fatalf("signed GET: %d %s", a.status, a.raw)
			}
		})
	}
}

// Without a secret nothing is checked.
func TestUnsignedWhenNoSecret(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	a := call(t, s, http.MethodPost, "/api/whatsapp/status/batch", statuses(statusItemJSON("s1", "active", 0)))
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
}
