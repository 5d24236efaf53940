package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reader parses one variable per call and records failures instead of
// stopping, so Load reports every bad setting at once.
type reader struct {
	getenv func(string) string
	errs   Errors
}

func (r *reader) fail(name, value, allowed string) {
	r.errs = append(r.errs, &Error{Var: name, Value: value, Allowed: allowed})
}

// ok reports whether name parsed cleanly (cross-field rules skip broken ones).
func (r *reader) ok(name string) bool {
	for _, e := range r.errs {
		if e.Var == name {
			return false
		}
	}
	return true
}

// raw returns the trimmed value, or "" when unset.
func (r *reader) raw(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *reader) str(name, def string) string {
	if v := r.raw(name); v != "" {
		return v
	}
	return def
}

func (r *reader) enum(name, def string, allowed ...string) string {
	v := r.raw(name)
	if v == "" {
		return def
	}
	if !slices.Contains(allowed, v) {
		r.fail(name, v, "one of "+strings.Join(allowed, ", "))
		return def
	}
	return v
}

func (r *reader) addr(name, def string) string {
	v := r.str(name, def)
	host, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil || (host != "" && net.ParseIP(host) == nil && !validHostname(host)) {
		r.fail(name, v, "a listen address host:port like :4000 or 127.0.0.1:4000 (port 0-65535)")
		return def
	}
	return v
}

// loopbackAddr is an optional listen address that only this machine can
// reach: profiles show memory contents (codes, tokens), so never a public one.
func (r *reader) loopbackAddr(name string) string {
	v := r.raw(name)
	if v == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	ip := net.ParseIP(host)
	if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		r.fail(name, v, "a loopback listen address like 127.0.0.1:6060, [::1]:6060 or localhost:6060 (profiles expose memory; never a public interface)")
		return ""
	}
	return v
}

var hostnamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

func validHostname(h string) bool { return len(h) <= 253 && hostnamePattern.MatchString(h) }

func (r *reader) httpURL(name, def string) *url.URL {
	v := r.str(name, def)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, v, "an absolute http:// or https:// URL like http://localhost:8000")
		u, _ = url.Parse(def)
	}
	return u
}

// optionalHTTPURL is nil when name is empty, else an absolute http(s) URL.
func (r *reader) optionalHTTPURL(name string) *url.URL {
	v := r.raw(name)
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, redact(v), "empty (off) or an absolute http:// or https:// URL")
		return nil
	}
	return u
}

func (r *reader) redisURL(name string) string {
	v := r.raw(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	ok := err == nil && ((u.Scheme == "redis" || u.Scheme == "rediss") && u.Host != "" ||
		(u.Scheme == "redis-sentinel" && u.Query().Get("master") != "" || u.Scheme == "redis-cluster") && hostList(u.Host) ||
		u.Scheme == "unix" && u.Path != "")
	if !ok {
		r.fail(name, redact(v), "empty (the embedded store) or a URL like redis://host:6379/0, rediss://…, "+
			"redis-sentinel://host:26379,host:26379/0?master=NAME, redis-cluster://host:7000,host:7001 or unix:///path")
		return ""
	}
	return v
}

// hostList reports whether h is a comma-separated list of host:port.
func hostList(h string) bool {
	if h == "" {
		return false
	}
	for _, a := range strings.Split(h, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(a))
		if err != nil || host == "" || port == "" {
			return false
		}
	}
	return true
}

// redisTopology folds REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS (+
// REDIS_SENTINEL_MASTER) into the one REDIS_URL the gateway opens; only one
// way of naming Redis may be set.
func (r *reader) redisTopology(redisURL string) string {
	cluster := r.raw("REDIS_CLUSTER_ADDRS")
	sentinels, master := r.raw("REDIS_SENTINEL_ADDRS"), r.raw("REDIS_SENTINEL_MASTER")
	set := 0
	for _, v := range []string{redisURL, cluster, sentinels} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		r.fail("REDIS_URL", redact(redisURL), "only one of REDIS_URL, REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS")
		return redisURL
	}
	switch {
	case cluster != "":
		if !hostList(cluster) {
			r.fail("REDIS_CLUSTER_ADDRS", cluster, "a comma-separated list of host:port of Cluster nodes")
			return ""
		}
		return "redis-cluster://" + strings.ReplaceAll(cluster, " ", "")
	case sentinels != "":
		if !hostList(sentinels) {
			r.fail("REDIS_SENTINEL_ADDRS", sentinels, "a comma-separated list of host:port of Sentinels")
			return ""
		}
		if master == "" {
			r.fail("REDIS_SENTINEL_MASTER", master, "the master name the Sentinels monitor (with REDIS_SENTINEL_ADDRS)")
			return ""
		}
		return "redis-sentinel://" + strings.ReplaceAll(sentinels, " ", "") + "/0?master=" + url.QueryEscape(master)
	}
	return redisURL
}

// leaseTTL accepts durations of at least a second: renewals run every
// third of it, and a shorter lease would expire under ordinary GC pauses.
func (r *reader) leaseTTL(name string, def time.Duration) time.Duration {
	d := r.positiveDuration(name, def)
	if d < time.Second {
		r.fail(name, r.raw(name), "a duration of at least 1s like 3s or 30s")
		return def
	}
	return d
}

// baseURL is an optional http(s) base URL without its trailing slash: ""
// when unset.
func (r *reader) baseURL(name string) string {
	v := r.raw(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, v, "an absolute http:// or https:// URL like http://10.0.0.5:4000")
		return ""
	}
	return strings.TrimRight(v, "/")
}

func (r *reader) store(name, def string) string {
	v := r.str(name, def)
	u, err := url.Parse(v)
	ok := err == nil && (u.Scheme == "file" && (u.Opaque != "" || u.Path != "") ||
		(u.Scheme == "postgres" || u.Scheme == "postgresql") && u.Host != "")
	if !ok {
		r.fail(name, redact(v), "a SQLite DSN like file:data/whatsmeow.db or a postgres:// URL")
		return def
	}
	return v
}

var waVersionPattern = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

func (r *reader) waVersion(name string) [3]uint32 {
	var out [3]uint32
	v := r.raw(name)
	if v == "" {
		return out
	}
	m := waVersionPattern.FindStringSubmatch(v)
	for i := 0; m != nil && i < 3; i++ {
		n, err := strconv.ParseUint(m[i+1], 10, 32)
		if err != nil {
			m = nil
			break
		}
		out[i] = uint32(n)
	}
	if m == nil || out[0] == 0 {
		r.fail(name, v, "empty (whatsmeow's built-in) or a WhatsApp web version like 2.3000.1023456789")
		return [3]uint32{}
	}
	return out
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	v := r.raw(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, v, fmt.Sprintf("an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// duration accepts Go durations ≥ 0 ("30s", "1m30s", "0").
func (r *reader) duration(name string, def time.Duration) time.Duration {
	return r.durationMin(name, def, false)
}

// positiveDuration accepts Go durations > 0.
func (r *reader) positiveDuration(name string, def time.Duration) time.Duration {
	return r.durationMin(name, def, true)
}

func (r *reader) durationMin(name string, def time.Duration, positive bool) time.Duration {
	v := r.raw(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || (positive && d == 0) {
		allowed := "a duration ≥ 0 like 30s, 1m30s or 0"
		if positive {
			allowed = "a duration > 0 like 500ms, 5s or 1m30s"
		}
		r.fail(name, v, allowed)
		return def
	}
	return d
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.raw(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, v, "true or false")
		return def
	}
	return b
}

func (r *reader) positiveFloat(name string, def float64) float64 {
	v := r.raw(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1e6 {
		r.fail(name, v, "a number > 0 (and ≤ 1e6) like 1, 0.5 or 60")
		return def
	}
	return f
}

func (r *reader) probability(name string, def float64) float64 {
	v := r.raw(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		r.fail(name, v, "a number from 0.0 to 1.0")
		return def
	}
	return f
}

var instanceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// defaultInstanceID is hostname-pid: unique per process on one host, and
// readable in lease owners and logs.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	host = strings.Map(func(c rune) rune {
		if instanceIDPattern.MatchString(string(c)) {
			return c
		}
		return '-'
	}, host)
	id := fmt.Sprintf("%s-%d", host, os.Getpid())
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	return id
}

func (r *reader) instanceID(name, def string) string {
	v := r.raw(name)
	if v == "" {
		return def
	}
	if !instanceIDPattern.MatchString(v) {
		r.fail(name, v, "1-64 characters from A-Z a-z 0-9 _ . -")
		return ""
	}
	return v
}

func (r *reader) logLevel(name string, def slog.Level) slog.Level {
	v := r.raw(name)
	if v == "" {
		return def
	}
	var l slog.Level
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error":
		_ = l.UnmarshalText([]byte(v))
		return l
	}
	r.fail(name, v, "one of debug, info, warn, error")
	return def
}

// redact hides a password in a URL-shaped value; anything else is returned as is.
func redact(v string) string {
	u, err := url.Parse(v)
	if err == nil && u.User != nil {
		return u.Redacted()
	}
	// An unparsable URL (a password with '#' or a bad %-escape) or one whose
	// userinfo was read as something else must not be echoed in a start-up
	// error or log line: hide everything between the scheme and the last '@'.
	if at := strings.LastIndex(v, "@"); at >= 0 {
		start := 0
		if i := strings.Index(v, "://"); i >= 0 && i < at {
			start = i + len("://")
		}
		return v[:start] + "xxxxx" + v[at:]
	}
	return v
}
