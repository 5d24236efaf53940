package loadtest

import (
	"io"
	"os"
)

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// lineEnd redraws in place on a terminal and appends lines elsewhere.
func lineEnd(w io.Writer) string {
	if isTerminal(w) {
		return "\r"
	}
	return "\n"
}
