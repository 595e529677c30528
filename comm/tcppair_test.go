package comm

import (
	"net"
	"testing"
)

// tcpPair returns both ends of a fresh loopback TCP connection: near
// (accepted) and far (dialled). The test closes them.
func tcpPair(t *testing.T) (near, far net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	far, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	near, err = ln.Accept()
	if err != nil {
		far.Close()
		t.Fatal(err)
	}
	return near, far
}
