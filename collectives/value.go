package collectives

import (
	"context"
	"errors"
	"fmt"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/vmihailenco/msgpack/v5"
)

// The value collectives move arbitrary Go values encoded with msgpack (as
// comm.SendValue does): each encodes on the sending side, moves lengths
// with the typed collectives and then the bytes with their v-variants, and
// decodes on the receiving side. They take the same options as the typed
// collective they are built on. A value that fails to encode makes every
// rank that would have received it return an error (the collective still
// completes on every rank, with an empty payload in its place).
//
// Bad arguments are errors wrapping comm.ErrInvalidRank (a root out of
// range, on every rank) or comm.ErrInvalidArgument (a slice whose length
// is not the communicator size, InPlace, a bad option); a length only root
// reads (ScatterValue's src, GatherValue's dst) is checked on root, and the
// other ranks then wait for root until their ctx ends.

// skip uses up n collective calls' worth of c's collective sequence. A
// value collective makes two typed collective calls; when it returns early
// it skips those it did not make, so that its ranks stay in step (each
// typed call takes one sequence number, error or not) and the next
// collective on c matches across ranks even after an error that only some
// ranks saw.
func skip(c *comm.Comm, n int) {
	for range n {
		c.Collective()
	}
}

// noInPlace refuses InPlace, which the value collectives cannot honour.
func noInPlace(coll string, c *comm.Comm, opts []Option) error {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.inPlace {
		return wrap(coll, c, fmt.Errorf("InPlace is not supported here: %w", comm.ErrInvalidArgument))
	}
	return nil
}

// errEncode marks a peer's encoding failure.
var errEncode = errors.New("collectives: a rank could not encode its value")

func encode(v any) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("collectives: encoding %T: %w", v, err)
	}
	return b, nil
}

func decode[V any](b []byte, n int64, dst *V) error {
	if n < 0 {
		return errEncode
	}
	if err := msgpack.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("collectives: decoding into %T: %w", dst, err)
	}
	return nil
}

// BcastValue copies root's *v into *v on every other rank. Bad arguments:
// a root out of range wraps comm.ErrInvalidRank (on every rank), InPlace or
// a bad option comm.ErrInvalidArgument.
func BcastValue[V any](ctx context.Context, c *comm.Comm, v *V, root int, opts ...Option) error {
	if err := noInPlace("BcastValue", c, opts); err != nil {
		skip(c, 2)
		return err
	}
	var b []byte
	var encErr error
	n := []int64{0}
	if c.Rank() == root {
		b, encErr = encode(*v)
		n[0] = int64(len(b))
		if encErr != nil {
			n[0] = -1
		}
	}
	if err := Bcast(ctx, c, n, root, opts...); err != nil {
		skip(c, 1)
		return err
	}
	if n[0] < 0 {
		return errors.Join(errEncode, encErr)
	}
	if c.Rank() != root {
		b = make([]byte, n[0])
	}
	if err := Bcast(ctx, c, b, root, opts...); err != nil {
		return err
	}
	if c.Rank() == root {
		return nil
	}
	return decode(b, n[0], v)
}

// encodeAll encodes each value; failed ones get length -1 and no bytes.
func encodeAll[V any](vs []V) ([]byte, []int64, []int, error) {
	var all []byte
	lens := make([]int64, len(vs))
	counts := make([]int, len(vs))
	var first error
	for i := range vs {
		b, err := encode(vs[i])
		if err != nil {
			lens[i] = -1
			first = cmpErr(first, err)
			continue
		}
		all = append(all, b...)
		lens[i], counts[i] = int64(len(b)), len(b)
	}
	return all, lens, counts, first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func counts64(lens []int64) []int {
	out := make([]int, len(lens))
	for i, n := range lens {
		out[i] = max(int(n), 0)
	}
	return out
}

// ScatterValue sends src[i] of root (len(src) = p on root, ignored
// elsewhere) to rank i, which decodes it into *dst. Bad arguments: a root
// out of range wraps comm.ErrInvalidRank (on every rank); len(src) != p on
// root, InPlace or a bad option comm.ErrInvalidArgument.
func ScatterValue[V any](ctx context.Context, c *comm.Comm, dst *V, src []V, root int, opts ...Option) error {
	p := c.Size()
	var all []byte
	var lens []int64
	var counts []int
	var encErr error
	if err := noInPlace("ScatterValue", c, opts); err != nil {
		skip(c, 2)
		return err
	}
	if err := badRoot(c, root); err != nil {
		skip(c, 2)
		return wrap("ScatterValue", c, err)
	}
	if c.Rank() == root {
		if err := badLen("src", len(src), p); err != nil {
			skip(c, 2)
			return wrap("ScatterValue", c, err)
		}
		all, lens, counts, encErr = encodeAll(src)
	}
	n := []int64{0}
	if err := Scatter(ctx, c, n, lens, root, opts...); err != nil {
		skip(c, 1)
		return err
	}
	b := make([]byte, max(n[0], 0))
	if err := Scatterv(ctx, c, b, all, counts, nil, root); err != nil {
		return err
	}
	return cmpErr(encErr, decode(b, n[0], dst))
}

// GatherValue collects src of every rank into dst[i] on root (len(dst) = p
// on root, ignored elsewhere). Bad arguments: a root out of range wraps
// comm.ErrInvalidRank (on every rank); len(dst) != p on root, InPlace or a
// bad option comm.ErrInvalidArgument.
func GatherValue[V any](ctx context.Context, c *comm.Comm, dst []V, src V, root int, opts ...Option) error {
	p := c.Size()
	if err := noInPlace("GatherValue", c, opts); err != nil {
		skip(c, 2)
		return err
	}
	if err := badRoot(c, root); err != nil {
		skip(c, 2)
		return wrap("GatherValue", c, err)
	}
	if c.Rank() == root {
		if err := badLen("dst", len(dst), p); err != nil {
			skip(c, 2)
			return wrap("GatherValue", c, err)
		}
	}
	b, encErr := encode(src)
	n := []int64{int64(len(b))}
	if encErr != nil {
		n[0] = -1
	}
	var lens []int64
	if c.Rank() == root {
		lens = make([]int64, p)
	}
	if err := Gather(ctx, c, lens, n, root, opts...); err != nil {
		skip(c, 1)
		return err
	}
	var all []byte
	var counts []int
	if c.Rank() == root {
		counts = counts64(lens)
		all = make([]byte, sum(counts))
	}
	if err := Gatherv(ctx, c, all, counts, nil, b, root); err != nil {
		return err
	}
	if c.Rank() != root {
		return encErr
	}
	off := 0
	for i := range p {
		encErr = cmpErr(encErr, decode(all[off:off+counts[i]], lens[i], &dst[i]))
		off += counts[i]
	}
	return encErr
}

// AllgatherValue collects src of every rank into dst[i] on every rank
// (len(dst) = p). Bad arguments: len(dst) != p, InPlace or a bad option
// wrap comm.ErrInvalidArgument.
func AllgatherValue[V any](ctx context.Context, c *comm.Comm, dst []V, src V, opts ...Option) error {
	p := c.Size()
	if err := noInPlace("AllgatherValue", c, opts); err != nil {
		skip(c, 2)
		return err
	}
	if err := badLen("dst", len(dst), p); err != nil {
		skip(c, 2)
		return wrap("AllgatherValue", c, err)
	}
	b, encErr := encode(src)
	n := []int64{int64(len(b))}
	if encErr != nil {
		n[0] = -1
	}
	lens := make([]int64, p)
	if err := Allgather(ctx, c, lens, n, opts...); err != nil {
		skip(c, 1)
		return err
	}
	counts := counts64(lens)
	all := make([]byte, sum(counts))
	if err := Allgatherv(ctx, c, all, counts, nil, b); err != nil {
		return err
	}
	off := 0
	for i := range p {
		encErr = cmpErr(encErr, decode(all[off:off+counts[i]], lens[i], &dst[i]))
		off += counts[i]
	}
	return encErr
}

// AlltoallValue sends src[j] to rank j, which decodes it into dst[i] for
// the sending rank i (len(src) = len(dst) = p). Bad arguments: len(src) or
// len(dst) != p, InPlace or a bad option wrap comm.ErrInvalidArgument.
func AlltoallValue[V any](ctx context.Context, c *comm.Comm, dst, src []V, opts ...Option) error {
	p := c.Size()
	if err := noInPlace("AlltoallValue", c, opts); err != nil {
		skip(c, 2)
		return err
	}
	err := badLen("src", len(src), p)
	if err == nil {
		err = badLen("dst", len(dst), p)
	}
	if err != nil {
		skip(c, 2)
		return wrap("AlltoallValue", c, err)
	}
	all, slens, scounts, encErr := encodeAll(src)
	rlens := make([]int64, p)
	if err := Alltoall(ctx, c, rlens, slens, opts...); err != nil {
		skip(c, 1)
		return err
	}
	rcounts := counts64(rlens)
	rall := make([]byte, sum(rcounts))
	if err := Alltoallv(ctx, c, rall, rcounts, nil, all, scounts, nil); err != nil {
		return err
	}
	off := 0
	for i := range p {
		encErr = cmpErr(encErr, decode(rall[off:off+rcounts[i]], rlens[i], &dst[i]))
		off += rcounts[i]
	}
	return encErr
}
