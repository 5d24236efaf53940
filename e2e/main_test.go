//go:build e2e

package e2e

import (
	"os"
	"testing"

	"wagateway/internal/gatewaytest"
)

// gatewayBin is the gateway binary built once for the whole run by TestMain.
var gatewayBin string

func TestMain(m *testing.M) {
	os.Exit(gatewaytest.Main(m, "e2e", &gatewayBin))
}

// waitFor polls cond every 100 ms until it holds; it fails the test after
// limit, naming what was awaited (see gatewaytest.WaitFor).
var waitFor = gatewaytest.WaitFor
