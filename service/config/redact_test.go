package config

import (
	"strings"
	"testing"
)

// Invalid URLs are echoed in start-up errors: their passwords must not be.
func TestRedactHidesPasswordsOfInvalidURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://:s3cr3t@host:6379/0", "redis://:xxxxx@host:6379/0"},
		{"redis://:ab%zz@host:6379/0", "redis://xxxxx@host:6379/0"},
		{"redis://user:p#ss@host/0", "redis://xxxxx@host/0"},
		{"redis://u:12#ss@h", "redis://xxxxx@h"},
		{"postgres://wa:pw@db/wa?sslmode=disable", "postgres://wa:xxxxx@db/wa?sslmode=disable"},
		{"redis://host:6379/0", "redis://host:6379/0"},
		{"file:data/whatsmeow.db", "file:data/whatsmeow.db"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, v := range []string{"redis://:ab%zz@host:6379/0", "redis://user:p#ss@host/0"} {
		_, err := Load(func(k string) string {
			if k == "REDIS_URL" {
				return v
			}
			return ""
		})
		if err == nil || strings.Contains(err.Error(), "zz@") || strings.Contains(err.Error(), "p#ss") {
			t.Errorf("REDIS_URL %q: error %v", v, err)
		}
	}
}
