package comm

import (
	"unsafe"
)

// Wildcards and limits for sources and tags.
const (
	// AnySource matches a message from any rank of the communicator.
	AnySource = -1
	// AnyTag matches a message with any tag.
	AnyTag = -1
	// MaxTag is the largest tag a user may send (MPI's TAG_UB). Tags range
	// over 0..MaxTag. Collectives travel in a separate context, so no user
	// tag can ever match their traffic.
	MaxTag = 1<<30 - 1
	// ProcNull is the null rank (MPI_PROC_NULL): a send to it completes at
	// once and sends nothing; a receive from it completes at once with an
	// empty Status whose Source is ProcNull. Cartesian shifts return it past
	// the edge of a non-periodic dimension.
	ProcNull = -2
	// Undefined is the color that makes Split return no communicator.
	Undefined = -1
)

// Elem is the set of element types that travel as raw bytes, without
// encoding: the send buffer's memory is the message.
type Elem interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr |
		~float32 | ~float64 | ~complex64 | ~complex128
}

// Bytes returns the memory of s as a byte slice (no copy). Writing to the
// result writes to s.
func Bytes[T Elem](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// SizeOf returns the size in bytes of one element of type T.
func SizeOf[T Elem]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// Status describes a received or probed message.
type Status struct {
	Source int // rank of the sender in the communicator
	Tag    int
	Bytes  int // size of the message as sent, in bytes
}

// Count returns the number of whole elements of type T in the message.
func Count[T Elem](st Status) int { return st.Bytes / SizeOf[T]() }
