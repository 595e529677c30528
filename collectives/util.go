package collectives

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gorun-hpc/gorun/comm"
)

// tag returns the tag of step s of a collective whose base tag is base.
// Steps beyond StepsPerCollective wrap; every algorithm that can have that
// many steps sends them in order between each pair, so reuse is safe under
// comm's non-overtaking rule.
func tag(base, step int) int {
	return base + step%comm.StepsPerCollective
}

// waitAll waits for every request. On failure it cancels the others and
// waits (briefly) for those already matched, so that no transfer into a
// caller's buffer goes on after the collective returns.
func waitAll(ctx context.Context, reqs ...*comm.Request) error {
	err := comm.WaitAll(ctx, reqs...)
	if err != nil {
		drain(reqs)
		err = mismatched(err)
	}
	return err
}

// waitFree is waitAll for requests the caller does not look at again: on
// success it hands them back to comm for reuse (Request.Free), so that a
// small collective allocates next to nothing.
func waitFree(ctx context.Context, reqs ...*comm.Request) error {
	if err := waitAll(ctx, reqs...); err != nil {
		return err
	}
	for _, r := range reqs {
		r.Free()
	}
	return nil
}

// drain cancels pending requests and waits a bounded time for those that
// had already matched.
func drain(reqs []*comm.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, r := range reqs {
		if r != nil {
			r.Cancel()
		}
	}
	for _, r := range reqs {
		if r != nil {
			r.Wait(ctx)
		}
	}
}

// exchange sends sbuf to dest and receives rbuf from src at once.
func exchange[T comm.Elem](ctx context.Context, c *comm.Comm, sbuf []T, dest int, rbuf []T, src, tg int) error {
	rr := comm.Irecv(c, rbuf, src, tg)
	if done, err := comm.TrySend(c, sbuf, dest, tg); done {
		if err != nil {
			drain([]*comm.Request{rr})
			return err
		}
		return waitRecv(ctx, rr, rbuf, src)
	}
	sr := comm.Isend(c, sbuf, dest, tg)
	if err := waitAll(ctx, rr, sr); err != nil {
		return err
	}
	err := checkSize(rr, rbuf, src)
	rr.Free()
	sr.Free()
	return err
}

func send[T comm.Elem](ctx context.Context, c *comm.Comm, buf []T, dest, tg int) error {
	if done, err := comm.TrySend(c, buf, dest, tg); done {
		return err
	}
	return waitFree(ctx, comm.Isend(c, buf, dest, tg))
}

// startSend sends buf to dest at once if it can (comm.TrySend), and
// otherwise starts it, appending the request to reqs. An error is that of
// a send done at once; the caller drains reqs and returns it.
func startSend[T comm.Elem](reqs []*comm.Request, c *comm.Comm, buf []T, dest, tg int) ([]*comm.Request, error) {
	if done, err := comm.TrySend(c, buf, dest, tg); done {
		return reqs, err
	}
	return append(reqs, comm.Isend(c, buf, dest, tg)), nil
}

func recv[T comm.Elem](ctx context.Context, c *comm.Comm, buf []T, src, tg int) error {
	return waitRecv(ctx, comm.Irecv(c, buf, src, tg), buf, src)
}

// waitRecv waits for r, a receive into buf from src, checks that the
// message filled buf (checkSize) and frees r.
func waitRecv[T comm.Elem](ctx context.Context, r *comm.Request, buf []T, src int) error {
	if err := waitAll(ctx, r); err != nil {
		return err
	}
	err := checkSize(r, buf, src)
	r.Free()
	return err
}

// waitSeg waits for r, one of several receives into buf from src (a
// segment of a pipelined algorithm), and checks that the message filled
// buf (checkSize). It does not free r: the caller drains its requests
// together when one fails.
func waitSeg[T comm.Elem](ctx context.Context, r *comm.Request, buf []T, src int) error {
	if err := waitAll(ctx, r); err != nil {
		return err
	}
	return checkSize(r, buf, src)
}

// waitBlocks waits for reqs, receives into the blocks blk of buf from
// the ranks of the same index, except rank skip (no request); it checks
// that each message filled its block (checkSize) and frees the requests.
func waitBlocks[T comm.Elem](ctx context.Context, reqs []*comm.Request, buf []T, blk []span, skip int) error {
	if err := waitAll(ctx, reqs...); err != nil {
		return err
	}
	k := 0
	var first error
	for i, b := range blk {
		if i == skip {
			continue
		}
		if err := checkSize(reqs[k], buf[b.lo:b.hi], i); err != nil && first == nil {
			first = err
		}
		k++
	}
	if first != nil {
		return first
	}
	for _, r := range reqs {
		r.Free()
	}
	return nil
}

// checkSize reports a completed receive into buf from src whose message
// did not fill buf exactly.
func checkSize[T comm.Elem](r *comm.Request, buf []T, src int) error {
	_, st, _ := r.Test()
	if st.Bytes != len(buf)*comm.SizeOf[T]() {
		return fmt.Errorf("from rank %d: got %d bytes, want %d (ranks disagree on the buffer size): %w: %w",
			src, st.Bytes, len(buf)*comm.SizeOf[T](), ErrMismatch, comm.ErrTruncate)
	}
	return nil
}

// mismatched marks a receive that failed because its message was longer
// than the buffer (comm.ErrTruncate) as a mismatch between the ranks.
func mismatched(err error) error {
	if errors.Is(err, comm.ErrTruncate) && !errors.Is(err, ErrMismatch) {
		return fmt.Errorf("%w: %w", ErrMismatch, err)
	}
	return err
}

// wrap gives a fault the collective's name and the calling rank.
func wrap(coll string, c *comm.Comm, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("collectives: %s on rank %d of %d: %w", coll, c.Rank(), c.Size(), err)
}

// span is a half-open element range [lo, hi).
type span struct{ lo, hi int }

func (s span) n() int { return s.hi - s.lo }

// blocks splits n elements into p contiguous blocks whose sizes differ by
// at most one unit of w elements.
func blocks(n, p, w int) []span {
	if w == 0 {
		return make([]span, p)
	}
	u := n / w
	q, r := u/p, u%p
	out := make([]span, p)
	lo := 0
	for i := range out {
		sz := q
		if i < r {
			sz++
		}
		out[i] = span{lo * w, (lo + sz) * w}
		lo += sz
	}
	return out
}

// segments splits a span into pieces of at most seg elements (a multiple
// of w); an empty span gives one empty piece.
func segments(s span, seg, w int) []span {
	seg = max(seg/w, 1) * w
	if s.n() == 0 {
		return []span{s}
	}
	var out []span
	for lo := s.lo; lo < s.hi; lo += seg {
		out = append(out, span{lo, min(lo+seg, s.hi)})
	}
	return out
}

func mod(a, p int) int { return ((a % p) + p) % p }

func pof2Below(p int) int {
	k := 1
	for k*2 <= p {
		k *= 2
	}
	return k
}

func isPow2(p int) bool { return p > 0 && p&(p-1) == 0 }

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// packedDispls returns displacements for counts packed one after another.
func packedDispls(counts []int) []int {
	d := make([]int, len(counts))
	s := 0
	for i, c := range counts {
		d[i] = s
		s += c
	}
	return d
}
