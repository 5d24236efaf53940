package loadtest

import "testing"

func TestPromValue(t *testing.T) {
	text := "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 1042\ngo_goroutines_total{x=\"y\"} 5\nprocess_open_fds 3.5e+01\n"
	if got, err := PromValue(text, "go_goroutines"); err != nil || got != 1042 {
		t.Errorf("go_goroutines = %d, %v", got, err)
	}
	if got, err := PromValue(text, "process_open_fds"); err != nil || got != 35 {
		t.Errorf("process_open_fds = %d, %v", got, err)
	}
	if _, err := PromValue(text, "go_threads"); err == nil {
		t.Error("an absent metric parsed")
	}
}
