package service

import (
	"regexp"
	"strings"
	"testing"
)

// sessionIDPattern is the rule ValidateSessionID implements by hand.
var sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func TestValidateSessionIDMatchesPattern(t *testing.T) {
	ids := []string{
		"", "a", "user_1", "A-z_09", strings.Repeat("x", 64), strings.Repeat("x", 65),
		"a b", "a/b", "a.b", "ä", "a\n", "\na", "a\x00", "x:y", "user_1\n",
	}
	for _, id := range ids {
		want := sessionIDPattern.MatchString(id)
		if got := ValidateSessionID(id) == nil; got != want {
			t.Errorf("ValidateSessionID(%q) accepts=%v, pattern=%v", id, got, want)
		}
	}
}

func FuzzValidateSessionID(f *testing.F) {
	for _, seed := range []string{"", "user_1", "a-b_C9", strings.Repeat("z", 64), strings.Repeat("z", 65), "a\n", "é", "a b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := sessionIDPattern.MatchString(id)
		if got := ValidateSessionID(id) == nil; got != want {
			t.Fatalf("ValidateSessionID(%q) accepts=%v, pattern=%v", id, got, want)
		}
	})
}

func BenchmarkValidateSessionID(b *testing.B) {
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			_ = sessionIDPattern.MatchString("user_123456")
		}
	})
	b.Run("bytes", func(b *testing.B) {
		for b.Loop() {
			_ = ValidateSessionID("user_123456")
		}
	})
}
