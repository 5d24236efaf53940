package mocklaravel

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureTolerance is how far a webhook-timestamp may be from the mock's
// clock, either way, before the request is refused as stale (a replay).
const SignatureTolerance = 5 * time.Minute

// verifySignature checks the gateway's signature headers when SigningSecret
// is set: the Standard Webhooks triple (webhook-id, webhook-timestamp,
// webhook-signature) and spatie's Signature, both required. It is written
// apart from the gateway's signer, from the specs, so a shared bug cannot
// make both sides agree on a wrong signature.
//
// Keys: a "whsec_<base64>" secret is its decoded bytes for webhook-signature
// (Standard Webhooks), and the configured string as is for Signature (what
// spatie/laravel-webhook-client hashes with); other secrets are raw bytes.
//
// It reads the body and puts it back for the handler. On failure it sets rep
// to the 401 to send and returns false.
func (s *Server) verifySignature(r *http.Request, rep *reply) bool {
	if s.cfg.SigningSecret == "" {
		return true
	}
	body, err := readBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		*rep = messageReply(http.StatusBadRequest, "Could not read the request body.")
		return false
	}
	// The handler enforces the size limit; it sees what was read, cut or not.
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkSignature(s.cfg.SigningSecret, r.Header, body, s.clock()); err != nil {
		s.log.WarnContext(r.Context(), "signature refused", "path", r.URL.Path, "reason", err.Error())
		*rep = messageReply(http.StatusUnauthorized, "Invalid signature: "+err.Error())
		return false
	}
	return true
}

// checkSignature verifies h's signature headers over body at now.
func checkSignature(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("webhook-id, webhook-timestamp and webhook-signature are required")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return errors.New("webhook-timestamp is more than 5 minutes away from now")
	}
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if key, err = base64.StdEncoding.DecodeString(rest); err != nil {
			return errors.New("the mock's whsec_ secret is not base64")
		}
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	// The header may list several space-separated signatures (key rotation);
	// one valid v1 is enough.
	ok := false
	for _, sig := range strings.Fields(sigs) {
		v, b64, found := strings.Cut(sig, ",")
		if !found || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return errors.New("webhook-signature does not match")
	}

	spatie := hmac.New(sha256.New, []byte(secret))
	spatie.Write(body)
	got, err := hex.DecodeString(h.Get("Signature"))
	if err != nil || !hmac.Equal(got, spatie.Sum(nil)) {
		return errors.New("the Signature header does not match")
	}
	return nil
}
