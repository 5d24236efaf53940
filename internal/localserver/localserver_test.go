package localserver_test

import (
	"net"
	"strconv"
	"testing"

	"wagateway/internal/localserver"
)

func TestFreePortCanBeListenedOn(t *testing.T) {
	port, err := localserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d from FreePort: %v", port, err)
	}
	ln.Close()
}
