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
	// isend starts sending xs as one message: its memory (xs must then
	// stay unchanged until the request completes), or its encoding.
	isend(c *comm.Comm, xs []T, dest, tag int) (*comm.Request, error)
	// elemSize is the size of an element in a message (raw memory), or
	// 0 when it depends on the value (msgpack); irecv and count need a
	// fixed size.
	elemSize() int
	// irecv starts receiving a message of at most len(buf) elements into
	// buf (fixed movers only); count is its element count.
	irecv(c *comm.Comm, buf []T, source, tag int) *comm.Request
	count(st comm.Status) (int, error)
	// recvAlloc receives a message of any length (empty: ok false).
	recvAlloc(ctx context.Context, c *comm.Comm, source, tag int) (xs []T, ok bool, err error)
	// mrecv receives a matched message into dst, which it must fill
	// exactly (ErrMalformed otherwise).
	mrecv(ctx context.Context, m *comm.Message, dst []T) error
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

func (typedMover[T]) isend(c *comm.Comm, xs []T, dest, tag int) (*comm.Request, error) {
	return comm.Isend(c, nonNil(xs), dest, tag), nil
}

func (typedMover[T]) elemSize() int { return comm.SizeOf[T]() }

func (typedMover[T]) irecv(c *comm.Comm, buf []T, source, tag int) *comm.Request {
	return comm.Irecv(c, nonNil(buf), source, tag)
}

func (typedMover[T]) count(st comm.Status) (int, error) {
	if st.Bytes%comm.SizeOf[T]() != 0 {
		return 0, fmt.Errorf("%w: message of %d bytes from rank %d, not whole elements of %d", ErrMalformed, st.Bytes, st.Source, comm.SizeOf[T]())
	}
	return comm.Count[T](st), nil
}

func (m typedMover[T]) recvAlloc(ctx context.Context, c *comm.Comm, source, tag int) ([]T, bool, error) {
	b, st, err := c.RecvAlloc(ctx, source, tag)
	if err != nil {
		return nil, false, err
	}
	k, err := m.count(st)
	if err != nil || k == 0 {
		return nil, false, err
	}
	xs := make([]T, k)
	copy(comm.Bytes(xs), b)
	return xs, true, nil
}

func (m typedMover[T]) mrecv(ctx context.Context, msg *comm.Message, dst []T) error {
	st, err := comm.Mrecv(ctx, msg, nonNil(dst))
	if err != nil {
		return err
	}
	if k, err := m.count(st); err != nil || k != len(dst) {
		return fmt.Errorf("%w: %d bytes from rank %d, want %d elements", ErrMalformed, st.Bytes, st.Source, len(dst))
	}
	return nil
}

type valueMover[T any] struct{}

func (valueMover[T]) isend(c *comm.Comm, xs []T, dest, tag int) (*comm.Request, error) {
	b, err := msgpack.Marshal(nonNil(xs))
	if err != nil {
		return nil, fmt.Errorf("parallel: encoding %T: %w", xs, err)
	}
	return c.IsendBytes(b, dest, tag), nil
}

func (valueMover[T]) elemSize() int { return 0 }

func (valueMover[T]) irecv(*comm.Comm, []T, int, int) *comm.Request {
	panic("parallel: irecv of msgpack elements")
}

func (valueMover[T]) count(comm.Status) (int, error) { panic("parallel: count of msgpack elements") }

func (valueMover[T]) recvAlloc(ctx context.Context, c *comm.Comm, source, tag int) ([]T, bool, error) {
	b, _, err := c.RecvAlloc(ctx, source, tag)
	if err != nil || len(b) == 0 {
		return nil, false, err
	}
	var xs []T
	if err := msgpack.Unmarshal(b, &xs); err != nil {
		return nil, false, fmt.Errorf("%w: from rank %d: %v", ErrMalformed, source, err)
	}
	return xs, true, nil
}

func (valueMover[T]) mrecv(ctx context.Context, m *comm.Message, dst []T) error {
	b, st, err := m.RecvAlloc(ctx)
	if err != nil {
		return err
	}
	var xs []T
	if err := msgpack.Unmarshal(b, &xs); err != nil {
		return fmt.Errorf("%w: from rank %d: %v", ErrMalformed, st.Source, err)
	}
	if len(xs) != len(dst) {
		return fmt.Errorf("%w: %d elements from rank %d, want %d", ErrMalformed, len(xs), st.Source, len(dst))
	}
	copy(dst, xs)
	return nil
}

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
