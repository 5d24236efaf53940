package laravel

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wagateway/service"
)

// Signature headers. Laravel can check either scheme: the Standard Webhooks
// triple (timestamped, so replays can be refused) or spatie's Signature.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
	HeaderSignature        = "Signature"
)

// whsecPrefix marks a Standard Webhooks secret whose rest is base64.
const whsecPrefix = "whsec_"

// signer signs request bodies with LARAVEL_SIGNING_SECRET.
//
// The Standard Webhooks key follows that spec: a secret "whsec_<base64>" is
// the decoded bytes, any other secret its raw bytes. spatie's Signature is
// always keyed with the secret string exactly as configured, because that is
// what spatie/laravel-webhook-client passes to hash_hmac.
type signer struct {
	webhookKey []byte
	rawKey     []byte
}

func newSigner(secret string) (*signer, error) {
	s := &signer{webhookKey: []byte(secret), rawKey: []byte(secret)}
	if rest, ok := strings.CutPrefix(secret, whsecPrefix); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(key) == 0 {
			// The secret itself must not end up in the message.
			return nil, service.Errorf(service.EINVALID, "LARAVEL_SIGNING_SECRET starts with %s but the rest is not base64", whsecPrefix)
		}
		s.webhookKey = key
	}
	return s, nil
}

// sign sets the signature headers of a request with body, sent at now as
// message id.
func (s *signer) sign(h http.Header, id string, now time.Time, body []byte) {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, s.webhookKey)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))

	raw := hmac.New(sha256.New, s.rawKey)
	raw.Write(body)
	h.Set(HeaderSignature, hex.EncodeToString(raw.Sum(nil)))
}

// messageID is the webhook-id of a request without an Idempotency-Key (the
// GET status lookup): unique, as the spec asks.
func messageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "msg_" + hex.EncodeToString(b[:])
}
