package collectives

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/gorun-hpc/gorun/comm"
)

// Scratch buffers of the reductions (the received halves, blocks and
// segments that are combined into the caller's buffer) come from pools by
// power-of-two capacity, so that a large Allreduce does not allocate and
// zero its message size again on every call (measured: about 7 % of a
// rank's CPU at 1 MiB, np 4, plus the garbage collections it triggers).
// Small ones are pooled too, so that an 8-byte Allreduce allocates
// nothing. A buffer goes back to its pool only after a call that
// succeeded: after a fault, a transfer already matched could still be
// writing into it.

const poolMin = 1 // an empty buffer is just made

var scratchPools [48]sync.Pool // index: log2 of the capacity in bytes, of *[]byte

// holders recycles the *[]byte that carry buffers through scratchPools,
// so that putting a buffer back does not allocate one.
var holders sync.Pool

// getBuf returns a slice of n elements whose contents are unspecified.
func getBuf[T comm.Elem](n int) []T {
	size := n * comm.SizeOf[T]()
	if size < poolMin {
		return make([]T, n)
	}
	k := bits.Len(uint(size - 1))
	var b []byte
	if p, ok := scratchPools[k].Get().(*[]byte); ok {
		b, *p = *p, nil
		holders.Put(p)
	} else {
		b = make([]byte, 1<<k)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/comm.SizeOf[T]())[:n]
}

// putBuf returns a buffer from getBuf to its pool; others are ignored.
func putBuf[T comm.Elem](s []T) {
	size := cap(s) * comm.SizeOf[T]()
	if size < poolMin || size&(size-1) != 0 {
		return
	}
	p, _ := holders.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	*p = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:cap(s)]))), size)
	scratchPools[bits.Len(uint(size-1))].Put(p)
}
