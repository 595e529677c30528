package comm

import (
	"fmt"

	"github.com/gorun-hpc/gorun/comm/internal/wire"
)

// sendNow sends buf to world rank dst (another rank) at once if it can:
// eagerly, with room in the eager window. It reports whether the send is
// done, that is written or failed (the peer is lost, for one); when it is
// not, nothing was sent. Safe for concurrent use.
func (e *engine) sendNow(dst int, ctx uint64, tag int32, buf []byte) (bool, error) {
	if len(buf) > e.cfg.EagerLimit {
		return false, nil
	}
	e.mu.Lock()
	if err := e.sendStateLocked(dst); err != nil {
		e.mu.Unlock()
		return true, err
	}
	if !e.eagerRoomLocked(dst, len(buf)) {
		e.mu.Unlock()
		return false, nil
	}
	l := e.links[dst]
	e.mu.Unlock()
	h := wire.Header{Type: wire.Eager, Ctx: ctx, Tag: tag, Len: uint64(len(buf))}
	if err := l.send(h, buf); err != nil {
		return true, e.sendFailed(dst, err)
	}
	return true, nil
}

// eagerRoomLocked reports whether an eager message of n bytes to peer fits
// the eager window, and if so charges it. Caller holds e.mu.
func (e *engine) eagerRoomLocked(peer, n int) bool {
	cost := int64(n) + wire.EagerOverhead
	if w := e.cfg.EagerWindow; w >= 0 && e.eagerOut[peer]+cost > int64(w) {
		return false
	}
	e.eagerOut[peer] += cost
	return true
}

// creditBatch is how much delivered eager traffic from a peer is credited
// back in one Credit frame.
const creditBatch = 64 << 10

// credit records that an eager message of n bytes from peer was delivered
// to a receive, and queues a Credit frame to peer once a batch is owed.
func (e *engine) credit(peer, n int) {
	if peer == e.rank {
		e.mu.Lock()
		e.eagerOut[peer] -= int64(n) + wire.EagerOverhead
		e.mu.Unlock()
		return
	}
	if e.owed[peer].Add(int64(n)+wire.EagerOverhead) < creditBatch {
		return
	}
	if amt := e.owed[peer].Swap(0); amt > 0 {
		e.mu.Lock()
		l, down := e.links[peer], e.peerStateLocked(peer) != nil
		e.mu.Unlock()
		if !down {
			l.sendControl(wire.Header{Type: wire.Credit, A: uint64(amt)})
		}
	}
}

// onCredit takes back eager window space the peer has freed.
func (e *engine) onCredit(peer int, h *wire.Header) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h.A > uint64(e.eagerOut[peer]) {
		return fmt.Errorf("%w: credit of %d bytes, %d outstanding", ErrProtocol, h.A, e.eagerOut[peer])
	}
	e.eagerOut[peer] -= int64(h.A)
	return nil
}
