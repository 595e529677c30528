//go:build !linux

package shm

import (
	"fmt"
	"time"
)

func newBacking(dir, name string) (int, bool, error) {
	return -1, false, fmt.Errorf("%w: shared-memory channels need Linux", ErrUnsupported)
}
func reserveFile(int, int64, bool) error       { return ErrUnsupported }
func mapFile(int, int64) ([]byte, error)       { return nil, ErrUnsupported }
func unmapFile([]byte)                         {}
func closeFD(int)                              {}
func openPeerFile(int32, int32) (int, error)   { return -1, ErrUnsupported }
func checkFile(int, int64, bool) error         { return ErrUnsupported }
func futexWait(*uint32, uint32, time.Duration) {}
func futexWake(*uint32)                        {}
func osYield()                                 {}
func readPeer(int, []byte, uint64) error       { return ErrUnsupported }

type peerWatch struct{ pid int }

func watchPeer(pid int) peerWatch { return peerWatch{pid} }
func (*peerWatch) exited() bool   { return false }
func (*peerWatch) close()         {}
