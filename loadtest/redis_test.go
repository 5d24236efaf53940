package loadtest

import "testing"

func TestParseInfoInt(t *testing.T) {
	info := "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:9000\r\n"
	if got, err := ParseInfoInt(info, "used_memory"); err != nil || got != 1048576 {
		t.Errorf("used_memory = %d, %v", got, err)
	}
	if _, err := ParseInfoInt(info, "used_memory_human"); err == nil {
		t.Error("a non-integer field parsed")
	}
	if _, err := ParseInfoInt(info, "maxmemory"); err == nil {
		t.Error("an absent field parsed")
	}
}
