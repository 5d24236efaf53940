//go:build !unix

package sqlite

import (
	"os"

	"wagateway/service"
)

// lockDir needs flock(2); without it two processes could share a data
// directory and corrupt it, so the embedded store refuses to open.
func lockDir(dir string) (*os.File, error) {
	return nil, service.Errorf(service.EINVALID,
		"the embedded store needs flock, not available on this system: set REDIS_URL or OUTBOX=memory")
}
