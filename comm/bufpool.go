package comm

import (
	"math/bits"
	"sync"
)

// Payloads of eager messages that arrive before their receive are kept in
// recycled buffers: a sender running ahead of its receiver (back-to-back
// broadcasts, a window of sends) would otherwise make the receiver allocate
// and fault in fresh memory for every message, and copying into new pages
// cost more than the network.

const (
	minShift  = 8
	maxShift  = 20
	minPooled = 1 << minShift // smaller payloads are allocated plainly
	maxPooled = 1 << maxShift // larger ones too (they only occur with a raised EagerLimit)
)

// pooledBuf is one recycled buffer; the pools hold pointers so that Put
// does not allocate.
type pooledBuf struct{ b []byte }

// eagerPools[i] holds buffers of capacity 1<<(i+8).
var eagerPools [maxShift - minShift + 1]sync.Pool

func poolClass(n int) int { return bits.Len(uint(n-1)) - minShift }

// getPayload returns a buffer of length n, recycled when n is in the pooled
// range (then p is non-nil and must go back through putPayload once the
// payload has been copied out). Safe for concurrent use.
func getPayload(n int) (data []byte, p *pooledBuf) {
	if n < minPooled || n > maxPooled {
		return make([]byte, n), nil
	}
	c := poolClass(n)
	if v := eagerPools[c].Get(); v != nil {
		p = v.(*pooledBuf)
	} else {
		p = &pooledBuf{b: make([]byte, minPooled<<c)}
	}
	return p.b[:n], p
}

// putPayload recycles p (nil is ignored). The caller must not use the
// buffer afterwards.
func putPayload(p *pooledBuf) {
	if p != nil {
		eagerPools[poolClass(cap(p.b))].Put(p)
	}
}
