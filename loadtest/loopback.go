package loadtest

import (
	"fmt"
	"net"
	"net/url"
)

// requireLoopback refuses a URL whose host is not a loopback address: load
// only ever goes to this machine.
func requireLoopback(raw string) error {
	if raw == "" {
		return nil
	}
	host, err := urlHost(raw)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: the load test only sends load to this machine", raw)
}

func urlHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", raw, err)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("%q has no host", raw)
	}
	return u.Hostname(), nil
}
