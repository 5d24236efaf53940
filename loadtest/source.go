package loadtest

import (
	"context"
	"os/exec"
	"strings"
)

// SourceVersion names the code a run measured: the commit of the module at
// root, plus a mark when the gateway's or mock's files differ from it (the
// gateway is built from the working tree).
func SourceVersion(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	v := strings.TrimSpace(string(out))
	dirty, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--", "service", "mocklaravel", "go.mod").Output()
	if err == nil && len(strings.TrimSpace(string(dirty))) > 0 {
		v += " + uncommitted changes in service/ or mocklaravel/"
	}
	return v
}
