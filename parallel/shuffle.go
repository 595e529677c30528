package parallel

import (
	"context"
	"fmt"
	"iter"
	"reflect"
	"unsafe"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// plain reports whether values of type t hold no pointers and so can
// travel as raw memory between processes of one binary: booleans,
// numbers, and arrays and structs of them.
func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

func isPlain[T any]() bool { return plain(reflect.TypeFor[T]()) }

// rawBytes is the memory of s (T plain).
func rawBytes[T any](s []T) []byte {
	var z T
	if len(s) == 0 || unsafe.Sizeof(z) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// Flags of a shuffle round's header, sent with every count.
const (
	flagMore   = 1 // the sender has more records after this round
	flagFailed = 2 // the sender failed: every rank ends the shuffle
	flagBadArg = 4 // with flagFailed: the sender's failure was a bad argument of the caller
)

// failShuffle takes part in a Shuffle as a rank whose caller passed a bad
// argument (err): the others end their Shuffle with an error wrapping
// comm.ErrInvalidArgument; it returns err (or the fault of the exchange).
func failShuffle[T any](ctx context.Context, c *comm.Comm, err error) error {
	if _, _, _, xerr := exchange(ctx, c, []T{}, make([]int, c.Size()), flagFailed|flagBadArg); xerr != nil {
		return xerr
	}
	return err
}

// exchange moves send (grouped by destination, counts[r] records for rank
// r) to the destinations and returns what this rank received, grouped by
// source rank, with the per-source counts. Headers carry flags; it
// returns the OR of every rank's flags too. Plain records move as raw
// memory with Alltoallv, others with AlltoallValue (msgpack).
func exchange[T any](ctx context.Context, c *comm.Comm, send []T, counts []int, flags int64) ([]T, []int, int64, error) {
	size := c.Size()
	hdr := make([]int64, 2*size)
	for r := range size {
		hdr[2*r], hdr[2*r+1] = int64(counts[r]), flags
	}
	got := make([]int64, 2*size)
	if err := collectives.Alltoall(ctx, c, got, hdr); err != nil {
		return nil, nil, 0, err
	}
	rcounts := make([]int, size)
	total := 0
	var all int64 = flags
	for r := range size {
		all |= got[2*r+1]
		if got[2*r] < 0 {
			return nil, nil, 0, errMalformedf("count %d from rank %d", got[2*r], r)
		}
		rcounts[r] = int(got[2*r])
		total += rcounts[r]
	}
	if all&flagFailed != 0 {
		return nil, rcounts, all, nil
	}
	if isPlain[T]() {
		var z T
		sz := int(unsafe.Sizeof(z))
		recv := make([]T, total)
		sc, rc := make([]int, size), make([]int, size)
		for r := range size {
			sc[r], rc[r] = counts[r]*sz, rcounts[r]*sz
		}
		if sz == 0 {
			return recv, rcounts, all, nil
		}
		err := collectives.Alltoallv(ctx, c, rawBytes(recv), rc, nil, rawBytes(nonNil(send)), sc, nil)
		return recv, rcounts, all, err
	}
	out := make([][]T, size)
	off := 0
	for r := range size {
		out[r] = send[off : off+counts[r]]
		off += counts[r]
	}
	in := make([][]T, size)
	if err := collectives.AlltoallValue(ctx, c, in, out); err != nil {
		return nil, nil, 0, err
	}
	recv := make([]T, 0, total)
	for r, b := range in {
		if len(b) != rcounts[r] {
			return nil, nil, 0, errMalformedf("%d records from rank %d, its header said %d", len(b), r, rcounts[r])
		}
		recv = append(recv, b...)
	}
	return recv, rcounts, all, nil
}

// Shuffle sends every record to the rank dest chooses for it and returns
// the records this rank received, grouped by source rank in rank order,
// each group in the sender's order (the shuffle of Spark and Dask).
// Records of plain types (numbers, and arrays and structs of them, no
// pointers) travel as raw memory with Alltoallv; any other type is
// encoded with msgpack (exported fields only). Collective: every rank
// calls it. A dest outside [0, Size()) on any rank makes every rank return
// an error wrapping comm.ErrInvalidRank. Memory: the records, a copy
// grouped by destination, and what is received.
func Shuffle[T any](ctx context.Context, c *comm.Comm, recs []T, dest func(i int, r T) int) ([]T, error) {
	size := c.Size()
	d := make([]int32, len(recs))
	counts := make([]int, size)
	bad := -1
	for i, r := range recs {
		x := dest(i, r)
		if x < 0 || x >= size {
			bad = x
			break
		}
		d[i] = int32(x)
		counts[x]++
	}
	if bad != -1 {
		_, _, _, err := exchange(ctx, c, []T{}, make([]int, size), flagFailed)
		if err != nil {
			return nil, err
		}
		return nil, invalidRank("Shuffle", "destination", bad, size)
	}
	send := make([]T, len(recs))
	fill := make([]int, size)
	for r := 1; r < size; r++ {
		fill[r] = fill[r-1] + counts[r-1]
	}
	for i, r := range recs {
		send[fill[d[i]]] = r
		fill[d[i]]++
	}
	recv, _, flags, err := exchange(ctx, c, send, counts, 0)
	if err != nil {
		return nil, err
	}
	if flags&flagBadArg != 0 {
		return nil, fmt.Errorf("parallel: Shuffle: %w: another rank's call had a bad argument", comm.ErrInvalidArgument)
	}
	if flags&flagFailed != 0 {
		return nil, fmt.Errorf("parallel: Shuffle: %w: another rank chose a destination out of range", comm.ErrInvalidRank)
	}
	return recv, nil
}

// ShuffleStream is Shuffle in bounded memory, for inputs larger than a
// rank should hold: it pulls records from in, and in rounds moves at most
// batch records from each rank to each rank, handing every round's
// received records to emit (grouped by source rank; the slice is reused
// after emit returns). Each rank holds at most size×batch records to send
// and size×batch received at a time, plus, for records that are not
// plain, their msgpack encodings: about 2·size·batch records per rank,
// whatever the input's length. A round ends when some destination's
// buffer is full or the input is exhausted; the shuffle ends when every
// rank's input is. Collective. If emit fails, or dest returns a rank out
// of range, the shuffle ends on every rank after that round: the failing
// rank returns its error, the others an error saying so. batch < 1 is an
// error wrapping comm.ErrInvalidArgument (returned before any
// communication, so every rank must pass the same batch).
func ShuffleStream[T any](ctx context.Context, c *comm.Comm, in iter.Seq[T], dest func(r T) int, batch int, emit func(recv []T) error) error {
	if batch < 1 {
		return invalid("ShuffleStream", "batch %d, want ≥ 1", batch)
	}
	size := c.Size()
	next, stop := iter.Pull(in)
	defer stop()
	bufs := make([][]T, size)
	for r := range bufs {
		bufs[r] = make([]T, 0, batch)
	}
	send := make([]T, 0, size*batch)
	counts := make([]int, size)
	more := true
	var failed error
	for {
		full := false
		for more && !full && failed == nil {
			r, ok := next()
			if !ok {
				more = false
				break
			}
			x := dest(r)
			if x < 0 || x >= size {
				failed = invalidRank("ShuffleStream", "destination", x, size)
				break
			}
			bufs[x] = append(bufs[x], r)
			full = len(bufs[x]) == batch
		}
		send = send[:0]
		for r := range size {
			counts[r] = len(bufs[r])
			send = append(send, bufs[r]...)
			bufs[r] = bufs[r][:0]
		}
		var flags int64
		if more {
			flags |= flagMore
		}
		if failed != nil {
			flags = flagFailed
			clear(counts)
			send = send[:0]
		}
		recv, _, all, err := exchange(ctx, c, send, counts, flags)
		if err != nil {
			return err
		}
		if all&flagFailed != 0 {
			if failed != nil {
				return failed
			}
			return fmt.Errorf("parallel: ShuffleStream: %w on another rank", ErrShuffleFailed)
		}
		if err := emit(recv); err != nil {
			failed = err
			more = false
			continue
		}
		if all&flagMore == 0 {
			return nil
		}
	}
}
