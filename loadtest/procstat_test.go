package loadtest

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, as the kernel prints it.
	stat := []byte("4242 (gate way) x) S 1 4242 4242 0 -1 4194560 1513 0 0 0 250 75 0 0 20 0 9 0 123 0 0\n")
	got, err := ParseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want {
		t.Errorf("cpu = %s, want %s", got, want)
	}
	if _, err := ParseStatCPU([]byte("garbage")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\tgateway\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n")
	if got := ParseStatusKB(status, "VmHWM"); got != 51234 {
		t.Errorf("VmHWM = %d", got)
	}
	if got := ParseStatusKB(status, "VmSwap"); got != 0 {
		t.Errorf("absent key = %d", got)
	}
}

func TestCPUPercent(t *testing.T) {
	t0 := time.Now()
	a := ProcSample{At: t0, CPU: time.Second}
	b := ProcSample{At: t0.Add(4 * time.Second), CPU: 3 * time.Second}
	if got := CPUPercent(a, b); got != 50 {
		t.Errorf("CPUPercent = %v, want 50", got)
	}
	if got := CPUPercent(b, b); got != 0 {
		t.Errorf("no wall time gives %v", got)
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.PeakRSSK <= 0 || s.RSSKB <= 0 {
		t.Errorf("own sample = %+v", s)
	}
}
