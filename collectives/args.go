package collectives

import (
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// Argument checks. Every collective checks what it can see locally before
// it sends or receives anything, so that an argument that is bad on every
// rank (a root out of range, say) is an error on every rank without any
// communication. Each check returns an error wrapping comm.ErrInvalidRank
// or comm.ErrInvalidArgument that names the value and the valid range; the
// collective adds its name and the rank with wrap.

// badRoot reports a root outside [0, c.Size()).
func badRoot(c *comm.Comm, root int) error {
	if root < 0 || root >= c.Size() {
		return fmt.Errorf("root %d out of range [0,%d): %w", root, c.Size(), comm.ErrInvalidRank)
	}
	return nil
}

// badLen reports a buffer whose length is not the one the call needs.
func badLen(what string, got, want int) error {
	if got != want {
		return fmt.Errorf("len(%s) = %d, want %d: %w", what, got, want, comm.ErrInvalidArgument)
	}
	return nil
}

// badMultiple reports a buffer whose length is not a multiple of p (the
// communicator size, for the calls that split a buffer into p blocks).
func badMultiple(what string, n, p int) error {
	if n%p != 0 {
		return fmt.Errorf("len(%s) = %d is not a multiple of the communicator size %d: %w", what, n, p, comm.ErrInvalidArgument)
	}
	return nil
}

// notInPlace reports, for a call with InPlace, an ignored buffer that is
// neither nil nor starting where the buffer it stands in for starts.
func notInPlace[T any](ignoredName, usedName string, ignored, used []T) error {
	if ignored == nil || sameStart(ignored, used) {
		return nil
	}
	return fmt.Errorf("InPlace with a %s that is neither nil nor %s: %w", ignoredName, usedName, comm.ErrInvalidArgument)
}

// sameStart reports whether a and b are non-empty and start at the same
// element.
func sameStart[T any](a, b []T) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// blockSpans checks per-rank counts and displacements (displs nil means
// packed) of a buffer of n elements and returns the blocks: len(counts) ==
// len(displs) == p, every count >= 0, every block inside [0, n).
func blockSpans(countsName, displsName, bufName string, counts, displs []int, p, n int) ([]span, error) {
	if err := badLen(countsName, len(counts), p); err != nil {
		return nil, err
	}
	for i, k := range counts {
		if k < 0 {
			return nil, fmt.Errorf("%s[%d] = %d is negative: %w", countsName, i, k, comm.ErrInvalidArgument)
		}
	}
	if displs == nil {
		displs = packedDispls(counts)
	} else if err := badLen(displsName, len(displs), p); err != nil {
		return nil, err
	}
	blk := make([]span, p)
	for i := range blk {
		d := displs[i]
		if d < 0 || d > n || counts[i] > n-d {
			return nil, fmt.Errorf("%s[%d] = %d with %s[%d] = %d: block [%d,%d) outside len(%s) = %d: %w",
				displsName, i, d, countsName, i, counts[i], d, d+counts[i], bufName, n, comm.ErrInvalidArgument)
		}
		blk[i] = span{d, d + counts[i]}
	}
	return blk, nil
}

// mustLen is badLen for the functions that have no error result: it
// panics.
func mustLen(coll, what string, got, want int) {
	if err := badLen(what, got, want); err != nil {
		panic(fmt.Sprintf("collectives: %s: %v", coll, err))
	}
}

// input returns the rank's input of a call that reads len(dst) elements
// and writes dst: dst itself in place (InPlace, or a src that starts where
// dst starts), else src, whose length must be len(dst).
func input[T any](cfg config, dst, src []T) ([]T, error) {
	if cfg.inPlace {
		return dst, notInPlace("src", "dst", src, dst)
	}
	if err := badLen("src", len(src), len(dst)); err != nil {
		return nil, err
	}
	if sameStart(dst, src) {
		return dst, nil
	}
	return src, nil
}
