package http

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wagateway/service"
)

// The dashboard's login: POST /ui/login exchanges API_KEY for a signed,
// expiring cookie, so the key itself never sits in the browser. The cookie
// is stateless (any instance sharing API_KEY accepts it, and changing the
// key signs every browser out); the CSRF token is derived from it, so a
// page of another site can neither read nor forge it.
const (
	uiCookie     = "wagateway_ui"
	csrfHeader   = "X-CSRF-Token"
	cookiePrefix = "v1."
	// defaultUISessionTTL is how long a dashboard login lasts.
	defaultUISessionTTL = 12 * time.Hour
)

// uiKeys are the HMAC keys derived from API_KEY, one per purpose.
type uiKeys struct {
	cookie, csrf []byte
}

func newUIKeys(apiKey string) uiKeys {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, []byte(apiKey))
		m.Write([]byte("wagateway ui " + purpose))
		return m.Sum(nil)
	}
	return uiKeys{cookie: derive("cookie"), csrf: derive("csrf")}
}

func mac(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newCookieValue is "v1.<unix expiry>.<nonce>.<mac>".
func (k uiKeys) newCookieValue(expires time.Time) (string, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	body := cookiePrefix + strconv.FormatInt(expires.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce)
	return body + "." + mac(k.cookie, body), nil
}

// validCookie checks the signature and the expiry and returns the expiry.
func (k uiKeys) validCookie(v string, now time.Time) (time.Time, bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 || !strings.HasPrefix(v, cookiePrefix) {
		return time.Time{}, false
	}
	body, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(mac(k.cookie, body))) {
		return time.Time{}, false
	}
	parts := strings.Split(body, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return time.Time{}, false
	}
	return time.Unix(exp, 0), true
}

func (k uiKeys) csrfToken(cookieValue string) string { return mac(k.csrf, cookieValue) }

// uiSession returns the request's valid dashboard cookie, if any.
func (s *Server) uiSession(r *http.Request) (value string, expires time.Time, ok bool) {
	c, err := r.Cookie(uiCookie)
	if err != nil {
		return "", time.Time{}, false
	}
	exp, ok := s.uiKeys.validCookie(c.Value, s.cfg.Clock.Now())
	return c.Value, exp, ok
}

// stateChanging is every method that must carry the CSRF token.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// checkCSRF accepts a cookie-authenticated request that changes state only
// with the token of that cookie in X-CSRF-Token.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, cookie string) bool {
	if !stateChanging(r.Method) {
		return true
	}
	got := r.Header.Get(csrfHeader)
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.uiKeys.csrfToken(cookie))) == 1 {
		return true
	}
	s.log.Warn("request without a valid CSRF token refused", "method", r.Method, "path", r.URL.Path)
	s.writeError(w, http.StatusForbidden, "csrf", "missing or wrong "+csrfHeader+" header")
	return false
}

func (s *Server) uiSessionTTL() time.Duration {
	if s.cfg.UI.SessionTTL > 0 {
		return s.cfg.UI.SessionTTL
	}
	return defaultUISessionTTL
}

// POST /ui/login {"api_key":"…"}: 204 with the cookie, 401 on a wrong key.
func (s *Server) handleUILogin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.APIKey == "" {
		s.writeJSON(w, http.StatusOK, map[string]any{"auth_required": false})
		return
	}
	if !sameOrigin(r) {
		s.writeError(w, http.StatusForbidden, "csrf", "login from another origin refused")
		return
	}
	var req struct {
		APIKey string `json:"api_key"`
	}
	if err := decode(w, r, &req, false); err != nil {
		s.failDecode(w, r, err)
		return
	}
	want, got := sha256.Sum256([]byte(s.cfg.APIKey)), sha256.Sum256([]byte(req.APIKey))
	if req.APIKey == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		s.log.Warn("dashboard login refused: wrong API key", "remote", r.RemoteAddr)
		s.fail(w, r, service.Errorf(service.EUNAUTHORIZED, "wrong API key"))
		return
	}
	expires := s.cfg.Clock.Now().Add(s.uiSessionTTL())
	value, err := s.uiKeys.newCookieValue(expires)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: uiCookie, Value: value, Path: "/",
		Expires: expires, MaxAge: int(s.uiSessionTTL() / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r),
	})
	s.writeJSON(w, http.StatusOK, map[string]any{"auth_required": true, "authenticated": true,
		"csrf": s.uiKeys.csrfToken(value), "expires_at": expires.UTC()})
}

// POST /ui/logout: clears the cookie (CSRF-checked like every POST).
func (s *Server) handleUILogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: uiCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r),
	})
	w.WriteHeader(http.StatusNoContent)
}

// GET /ui/session: whether the browser is signed in, its CSRF token and
// what this gateway offers (open without a key, like the page itself).
func (s *Server) handleUISession(w http.ResponseWriter, r *http.Request) {
	res := map[string]any{
		"auth_required": s.cfg.APIKey != "",
		"authenticated": s.cfg.APIKey == "",
		"features": map[string]bool{
			"pair_phone": s.cfg.Pairer != nil,
			"sim":        s.cfg.Sim != nil,
			"stop":       s.stopper() != nil,
			"live":       s.cfg.UI.Feed != nil,
		},
	}
	if s.cfg.APIKey != "" {
		if value, exp, ok := s.uiSession(r); ok {
			res["authenticated"] = true
			res["csrf"] = s.uiKeys.csrfToken(value)
			res["expires_at"] = exp.UTC()
		}
	}
	s.writeJSON(w, http.StatusOK, res)
}

// sameOrigin refuses a browser request sent from another site; requests
// without Origin (curl, same-origin GET) pass.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	i := strings.Index(origin, "://")
	return i >= 0 && origin[i+3:] == r.Host
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
