package parallel

import (
	"context"
	"fmt"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
	"github.com/vmihailenco/msgpack/v5"
)

// A mover moves slices of one element type between ranks: typed elements
// as raw memory, any other type encoded with msgpack.
type mover[T any] interface {
	// scatter gives rank r counts[r] elements of root's src.
	scatter(ctx context.Context, c *comm.Comm, src []T, counts []int, root int) ([]T, error)
	// gather puts every rank's mine in rank order on root (or on every
	// rank with all); others get nil.
	gather(ctx context.Context, c *comm.Comm, mine []T, counts []int, root int, all bool) ([]T, error)
	// bcast copies root's buf (len known on every rank) to every rank.
	bcast(ctx context.Context, c *comm.Comm, buf []T, root int) error
	send(ctx context.Context, c *comm.Comm, xs []T, dest, tag int) error
	// recvInto receives exactly len(dst) elements into dst.
	recvInto(ctx context.Context, c *comm.Comm, dst []T, source, tag int) error
}

// nonNil returns s, or an empty non-nil slice: the collectives read a nil
// buffer as "in place".
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type typedMover[T comm.Elem] struct{}

func (typedMover[T]) scatter(ctx context.Context, c *comm.Comm, src []T, counts []int, root int) ([]T, error) {
	dst := make([]T, counts[c.Rank()])
	if c.Rank() != root {
		src = nil
	} else {
		src = nonNil(src)
	}
	return dst, collectives.Scatterv(ctx, c, dst, src, counts, nil, root)
}

func (typedMover[T]) gather(ctx context.Context, c *comm.Comm, mine []T, counts []int, root int, all bool) ([]T, error) {
	n := 0
	for _, k := range counts {
		n += k
	}
	mine = nonNil(mine)
	if all {
		dst := make([]T, n)
		return dst, collectives.Allgatherv(ctx, c, dst, counts, nil, mine)
	}
	var dst []T
	if c.Rank() == root {
		dst = make([]T, n)
	}
	err := collectives.Gatherv(ctx, c, dst, counts, nil, mine, root)
	return dst, err
}

func (typedMover[T]) bcast(ctx context.Context, c *comm.Comm, buf []T, root int) error {
	return collectives.Bcast(ctx, c, nonNil(buf), root)
}

func (typedMover[T]) send(ctx context.Context, c *comm.Comm, xs []T, dest, tag int) error {
	return comm.Send(ctx, c, nonNil(xs), dest, tag)
}

func (typedMover[T]) recvInto(ctx context.Context, c *comm.Comm, dst []T, source, tag int) error {
	st, err := comm.Recv(ctx, c, nonNil(dst), source, tag)
	if err != nil {
		return err
	}
	if got := comm.Count[T](st); got != len(dst) {
		return fmt.Errorf("%w: %d elements from rank %d, want %d", ErrMalformed, got, source, len(dst))
	}
	return nil
}

type valueMover[T any] struct{}

func (valueMover[T]) scatter(ctx context.Context, c *comm.Comm, src []T, counts []int, root int) ([]T, error) {
	var blocks [][]T
	if c.Rank() == root {
		blocks = make([][]T, len(counts))
		off := 0
		for r, k := range counts {
			blocks[r] = src[off : off+k]
			off += k
		}
	}
	var mine []T
	if err := collectives.ScatterValue(ctx, c, &mine, blocks, root); err != nil {
		return nil, err
	}
	if len(mine) != counts[c.Rank()] {
		return nil, fmt.Errorf("%w: scattered block of %d elements, want %d", ErrMalformed, len(mine), counts[c.Rank()])
	}
	return mine, nil
}

func (valueMover[T]) gather(ctx context.Context, c *comm.Comm, mine []T, counts []int, root int, all bool) ([]T, error) {
	blocks := make([][]T, c.Size())
	var err error
	if all {
		err = collectives.AllgatherValue(ctx, c, blocks, mine)
	} else {
		if c.Rank() != root {
			blocks = nil
		}
		err = collectives.GatherValue(ctx, c, blocks, mine, root)
	}
	if err != nil || blocks == nil {
		return nil, err
	}
	var out []T
	for r, b := range blocks {
		if len(b) != counts[r] {
			return nil, fmt.Errorf("%w: rank %d gave %d results, want %d", ErrMalformed, r, len(b), counts[r])
		}
		out = append(out, b...)
	}
	return nonNil(out), nil
}

func (valueMover[T]) bcast(ctx context.Context, c *comm.Comm, buf []T, root int) error {
	v := buf
	if err := collectives.BcastValue(ctx, c, &v, root); err != nil {
		return err
	}
	if len(v) != len(buf) {
		return fmt.Errorf("%w: broadcast of %d elements, want %d", ErrMalformed, len(v), len(buf))
	}
	if c.Rank() != root {
		copy(buf, v)
	}
	return nil
}

func (valueMover[T]) send(ctx context.Context, c *comm.Comm, xs []T, dest, tag int) error {
	b, err := msgpack.Marshal(xs)
	if err != nil {
		return fmt.Errorf("parallel: encoding %T: %w", xs, err)
	}
	return comm.Send(ctx, c, b, dest, tag)
}

func (valueMover[T]) recvInto(ctx context.Context, c *comm.Comm, dst []T, source, tag int) error {
	b, _, err := c.RecvAlloc(ctx, source, tag)
	if err != nil {
		return err
	}
	var xs []T
	if err := msgpack.Unmarshal(b, &xs); err != nil {
		return fmt.Errorf("%w: from rank %d: %v", ErrMalformed, source, err)
	}
	if len(xs) != len(dst) {
		return fmt.Errorf("%w: %d elements from rank %d, want %d", ErrMalformed, len(xs), source, len(dst))
	}
	copy(dst, xs)
	return nil
}
