package collectives

import (
	"context"
	"errors"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
)

// ReduceValue combines the values of every rank with fold and leaves the
// result in *dst on root (mpi4py's lowercase comm.reduce with a Python
// function; MPI_Reduce with a user operation on arbitrary values): *dst =
// src_0 ⊕ src_1 ⊕ ... ⊕ src_{p-1}, with a ⊕ b = fold(a, b), combined in
// rank order, so fold needs to be associative but not commutative (string
// concatenation, matrix products, merges that keep order). dst is used
// only on root and may be nil elsewhere. Values travel encoded with
// msgpack, so V must be one msgpack can encode and decode (exported
// fields, no channels or functions).
//
// Algorithm: a binomial tree rooted at rank 0 in which each rank folds
// its own partial result on the left of the one from the next block of
// ranks (ceil(log2 p) rounds); rank 0 then sends the result to root.
// fold runs on the ranks of the tree, not only on root; its first
// argument may be the caller's src itself, so a fold that modifies its
// arguments' memory (appending to a slice in place, say) may change src.
//
// Collective over c, following the package's calling convention. A value
// that fails to encode or decode fails the call on every rank that
// depends on it, root included (each still completes the collective). A
// bad root is an error wrapping comm.ErrInvalidRank.
func ReduceValue[V any](ctx context.Context, c *comm.Comm, dst *V, src V, fold func(a, b V) V, root int) error {
	if root < 0 || root >= c.Size() {
		return fmt.Errorf("collectives: ReduceValue: %w: root %d outside [0,%d)", comm.ErrInvalidRank, root, c.Size())
	}
	if fold == nil || c.Rank() == root && dst == nil {
		return fmt.Errorf("collectives: ReduceValue: %w: nil fold or dst", comm.ErrInvalidArgument)
	}
	acc, err := reduceValueTree(ctx, c, src, fold, root)
	if err != nil {
		return wrap("ReduceValue", c, err)
	}
	if c.Rank() == root {
		*dst = acc
	}
	return nil
}

// AllreduceValue is ReduceValue with the result on every rank
// (mpi4py's comm.allreduce with a function; MPI_Allreduce with a
// user-defined MPI_Op on serialised values): the rank-order fold of every
// rank's src, reduced to rank 0 and broadcast from there, so every rank
// gets the same value. dst must not be nil.
func AllreduceValue[V any](ctx context.Context, c *comm.Comm, dst *V, src V, fold func(a, b V) V) error {
	if fold == nil || dst == nil {
		return fmt.Errorf("collectives: AllreduceValue: %w: nil fold or dst", comm.ErrInvalidArgument)
	}
	acc, rerr := reduceValueTree(ctx, c, src, fold, 0)
	if rerr != nil && !errors.Is(rerr, errFold) {
		return wrap("AllreduceValue", c, rerr) // a fault: the job is failing
	}
	// Rank 0 broadcasts the result, or that there is none.
	var b []byte
	n := []int64{-1}
	if c.Rank() == 0 && rerr == nil {
		var err error
		if b, err = encode(acc); err == nil {
			n[0] = int64(len(b))
		} else {
			rerr = fmt.Errorf("%w: %w", errFold, err)
		}
	}
	if err := Bcast(ctx, c, n, 0); err != nil {
		return wrap("AllreduceValue", c, err)
	}
	if n[0] < 0 {
		if rerr == nil {
			rerr = errFold
		}
		return wrap("AllreduceValue", c, rerr)
	}
	if c.Rank() != 0 {
		b = make([]byte, n[0])
	}
	if err := Bcast(ctx, c, b, 0); err != nil {
		return wrap("AllreduceValue", c, err)
	}
	if c.Rank() == 0 {
		*dst = acc
		return nil
	}
	var v V
	if err := decode(b, n[0], &v); err != nil {
		return wrap("AllreduceValue", c, err)
	}
	*dst = v
	return nil
}

// errFold marks a value of the reduction that could not be encoded or
// decoded, on this rank or on one it depends on.
var errFold = errors.New("a value of the reduction could not be encoded or decoded")

// Frame of a partial result: a status byte (valueOK or valueBad), then the
// msgpack encoding.
const (
	valueOK  = 0
	valueBad = 1
)

// reduceValueTree folds every rank's src in rank order along a binomial
// tree rooted at rank 0 and returns the result on root (rank 0 sends it
// there); other ranks get the zero V. An encoding or decoding failure
// anywhere in root's tree is errFold on root and on the ranks it passed.
func reduceValueTree[V any](ctx context.Context, c *comm.Comm, src V, fold func(a, b V) V, root int) (V, error) {
	var zero V
	sys, base := c.Collective()
	sp := c.BeginCollective("ReduceValue", root, base) // observe: stall reports, --stats
	defer sp.End()
	if err := check[byte](ctx, c, sys, call{kind: kReduceValue, root: root, count: -1}); err != nil {
		return zero, err
	}
	r, p := c.Rank(), c.Size()
	acc := src
	var bad error // errFold once the partial result is lost
	step := 0
	for mask := 1; mask < p; mask <<= 1 {
		step++
		if r&mask != 0 {
			// Send the partial result of ranks [r, r+mask) to the left.
			if err := sendValueFrame(ctx, sys, acc, bad, r-mask, tag(base, step)); err != nil {
				return zero, err
			}
			break
		}
		if r+mask >= p {
			continue
		}
		v, err := recvValueFrame[V](ctx, sys, r+mask, tag(base, step))
		switch {
		case errors.Is(err, errFold):
			bad = err
		case err != nil:
			return zero, err
		case bad == nil:
			acc = fold(acc, v)
		}
	}
	// Rank 0 holds the result.
	if root != 0 {
		if r == 0 {
			return zero, sendValueFrame(ctx, sys, acc, bad, root, tag(base, 0))
		}
		if r == root {
			return recvValueFrame[V](ctx, sys, 0, tag(base, 0))
		}
		return zero, nil
	}
	return acc, bad
}

func sendValueFrame[V any](ctx context.Context, c *comm.Comm, v V, bad error, dest, tg int) error {
	frame := []byte{valueBad}
	if bad == nil {
		if b, err := encode(v); err == nil {
			frame = append([]byte{valueOK}, b...)
		}
	}
	return comm.Send(ctx, c, frame, dest, tg)
}

func recvValueFrame[V any](ctx context.Context, c *comm.Comm, src, tg int) (V, error) {
	var v V
	b, _, err := c.RecvAlloc(ctx, src, tg)
	if err != nil {
		return v, err
	}
	if len(b) == 0 || b[0] != valueOK {
		return v, errFold
	}
	if err := decode(b[1:], 0, &v); err != nil {
		return v, fmt.Errorf("%w: %w", errFold, err)
	}
	return v, nil
}
