package parallel

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// The dynamic map (Chunk(n)): the root hands chunks of n elements to the
// workers and works on chunks itself between their answers. Messages, on
// a Dup of the caller's communicator:
//
//	work    root → worker   the chunk's input elements (MapRange: {lo, hi},
//	                        two int64); empty: the stop
//	result  worker → root   tagMapResult: the chunk's results
//	                        tagMapFail: {offset int64 LE} and f's error text
//
// Raw elements travel in pieces of at most mapPiece bytes, under comm's
// default eager limit (64 KiB): a message above the limit goes by
// rendezvous, which takes two more handoffs between the processes (the
// receiver's go-ahead, then the data), and on a host that runs more ranks
// than it has CPUs every handoff can wait for the other process to be
// scheduled. A chunk's input is always pieces(chunk size) messages, the
// trailing ones empty for a short chunk (the stop: all empty); a chunk's
// results are as many pieces as its elements need. msgpack-encoded
// elements travel as one message per chunk.
//
// Chunks are never empty, and the messages carry no chunk number: the
// root keeps, per worker, the chunks in flight in the order it sent them,
// a worker answers its chunks in that order, and messages between two
// ranks with one tag arrive in the order they were sent. The root takes a
// worker's answer with a matched probe of any tag (the first piece, or
// the failure) and receives the results straight into the output. Input
// and results are never copied (raw elements) or are msgpack-encoded.
//
// The root keeps up to mapDepth chunks in flight per worker, so that a
// worker finds its next chunk there when it finishes one and the root's
// answer is off the worker's critical path. The root sends with Isend and
// never blocks on a worker while it has chunks to run itself. A worker
// with raw elements posts the receives of its next chunk before it runs
// the current one. When the chunks run out (or one failed), each worker
// gets the stop once its chunks in flight have been answered.

const (
	tagMapResult = 1
	tagMapFail   = 2
	tagMapWork   = 3
	// mapDepth is how many chunks the root keeps in flight per worker.
	mapDepth = 2
	// mapPiece bounds a message of raw elements, in bytes.
	mapPiece = 32 << 10
	// maxErrText bounds the error text a worker sends back for a chunk.
	maxErrText = 1 << 10
)

// pieceLen is the number of elements of size sz in one piece (0: one
// message of any length, for msgpack).
func pieceLen(sz int) int {
	if sz <= 0 {
		return 0
	}
	return max(1, mapPiece/sz)
}

// numPieces is how many pieces of pe elements k elements take (at least
// one; one when pe is 0).
func numPieces(k, pe int) int {
	if pe == 0 || k <= pe {
		return 1
	}
	return (k + pe - 1) / pe
}

// mapPeer is the root's view of one worker.
type mapPeer struct {
	fifo  [mapDepth]int // chunks in flight, oldest at head
	head  int
	n     int
	reqs  [mapDepth][]*comm.Request
	spans [mapDepth][]int64 // MapRange's {lo, hi} messages
	sent  int               // work messages sent
	taken int               // answers received
}

func mapDynamic[T, R any](ctx context.Context, c *comm.Comm, src []T, ranged bool, n int,
	in mover[T], out mover[R], f func(int, T) (R, error), cfg mapConfig) ([]R, error) {
	d := c.Dup()
	var dst []R
	var fl failure
	var localErr error
	localIdx := -1
	var errs map[int]error // a worker's failures by key
	var err error
	if c.Rank() == cfg.root {
		dst = make([]R, n)
		fl, localErr, localIdx, err = mapRoot(ctx, d, src, ranged, n, in, out, f, cfg, dst)
	} else {
		errs, err = mapWorker(ctx, d, ranged, n, in, out, f, cfg)
	}
	if err != nil {
		return nil, err
	}
	if err := collectives.BcastValue(ctx, c, &fl, cfg.root); err != nil {
		return nil, err
	}
	if fl.Failed {
		if e, ok := errs[fl.Key]; ok && fl.Rank == c.Rank() {
			localErr, localIdx = e, fl.Index
		}
		return nil, fl.err(c.Rank(), localErr, localIdx)
	}
	if cfg.all {
		if c.Rank() != cfg.root {
			dst = make([]R, n)
		}
		if err := out.bcast(ctx, c, dst, cfg.root); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func mapRoot[T, R any](ctx context.Context, d *comm.Comm, src []T, ranged bool, n int,
	in mover[T], out mover[R], f func(int, T) (R, error), cfg mapConfig, dst []R) (fl failure, localErr error, localIdx int, err error) {
	localIdx = -1
	size, root := d.Size(), cfg.root
	chunks := (n + cfg.chunk - 1) / cfg.chunk
	span := func(k int) (int, int) { return k * cfg.chunk, min(n, (k+1)*cfg.chunk) }
	inPe, outPe := pieceLen(in.elemSize()), pieceLen(out.elemSize())
	inPieces := numPieces(cfg.chunk, inPe)
	if ranged {
		inPieces = 1
	}
	next, total := 0, 0 // the next chunk to hand out; chunks in flight in all
	peers := make([]mapPeer, size)
	defer func() {
		// Every send completes (or is withdrawn after a failure) before
		// the input may change.
		var reqs []*comm.Request
		for i := range peers {
			for _, rs := range peers[i].reqs {
				reqs = append(reqs, rs...)
			}
		}
		if werr := settle(ctx, err != nil, reqs...); err == nil {
			err = werr
		}
	}()
	// give sends worker w its next chunk, or the stop when there is none
	// and w has nothing in flight.
	give := func(w int) error {
		p := &peers[w]
		slot := p.sent % mapDepth
		// The sends of mapDepth chunks ago: w has answered them.
		for _, r := range p.reqs[slot] {
			if _, err := r.Wait(ctx); err != nil {
				return err
			}
		}
		reqs := p.reqs[slot][:0]
		lo, hi := 0, 0 // the stop: no elements
		switch {
		case next < chunks && !fl.Failed:
			lo, hi = span(next)
			p.fifo[(p.head+p.n)%mapDepth] = next
			p.n++
			next++
			total++
		case p.n != 0:
			return nil
		}
		switch {
		case ranged && hi > lo:
			if p.spans[slot] == nil {
				p.spans[slot] = make([]int64, 2)
			}
			p.spans[slot][0], p.spans[slot][1] = int64(lo), int64(hi)
			reqs = append(reqs, comm.Isend(d, p.spans[slot], w, tagMapWork))
		case ranged || inPe == 0 && hi == lo:
			reqs = append(reqs, d.IsendBytes([]byte{}, w, tagMapWork))
		default:
			for q := range inPieces {
				a, b := lo, hi
				if inPe > 0 {
					a, b = min(hi, lo+q*inPe), min(hi, lo+(q+1)*inPe)
				}
				r, err := in.isend(d, src[a:b], w, tagMapWork)
				if err != nil {
					return err
				}
				reqs = append(reqs, r)
			}
		}
		p.reqs[slot] = reqs
		p.sent++
		return nil
	}
	for w := range size {
		if w == root {
			continue
		}
		for range mapDepth {
			if err := give(w); err != nil {
				return fl, nil, -1, err
			}
			if peers[w].n == 0 {
				break // stopped: fewer chunks than workers
			}
		}
	}
	// take receives the answer m (its first message) of a worker and
	// gives it its next chunk.
	take := func(m *comm.Message) error {
		st := m.Status()
		w := st.Source
		p := &peers[w]
		if p.n == 0 || (st.Tag != tagMapResult && st.Tag != tagMapFail) {
			m.RecvAlloc(ctx)
			return errMalformedf("map answer with tag %d from rank %d, which has no chunk in flight", st.Tag, w)
		}
		k := p.fifo[p.head]
		p.head, p.n = (p.head+1)%mapDepth, p.n-1
		seq := p.taken
		p.taken++
		total--
		lo, hi := span(k)
		if st.Tag == tagMapResult {
			end := hi
			if outPe > 0 {
				end = min(hi, lo+outPe)
			}
			if err := out.mrecv(ctx, m, dst[lo:end]); err != nil {
				return err
			}
			// The other pieces are the next messages from w with this tag.
			for a := end; a < hi; a += outPe {
				b := min(hi, a+outPe)
				st, err := out.irecv(d, dst[a:b], w, tagMapResult).Wait(ctx)
				if err != nil {
					return err
				}
				if got, err := out.count(st); err != nil || got != b-a {
					return errMalformedf("map result piece of %d bytes from rank %d, want %d elements", st.Bytes, w, b-a)
				}
			}
		} else {
			b, _, err := m.RecvAlloc(ctx)
			if err != nil {
				return err
			}
			off, text, err := decodeMapFailure(b, hi-lo)
			if err != nil {
				return fmt.Errorf("%w (chunk [%d, %d) from rank %d)", err, lo, hi, w)
			}
			if idx := lo + off; !fl.Failed || idx < fl.Index {
				fl = failure{Failed: true, Index: idx, Rank: w, Msg: text, Key: seq*cfg.chunk + off}
			}
		}
		return give(w)
	}
	for {
		// Answer every worker that has answered, then run one chunk. An
		// Improbe that finds nothing makes progress and yields, so this
		// loop lets the link readers run on a rank with one P.
		for total > 0 {
			m, ok, err := d.Improbe(comm.AnySource, comm.AnyTag)
			if err != nil {
				return fl, nil, -1, err
			}
			if !ok {
				break
			}
			if err := take(m); err != nil {
				return fl, nil, -1, err
			}
		}
		if next < chunks && !fl.Failed {
			k := next
			next++
			lo, hi := span(k)
			var part []T
			if !ranged {
				part = src[lo:hi]
			}
			if bad, err := apply(cfg.pool, lo, part, dst[lo:hi], f); bad >= 0 {
				if !fl.Failed || bad < fl.Index {
					fl = failure{Failed: true, Index: bad, Rank: root, Msg: err.Error()}
					localErr, localIdx = err, bad
				}
			}
			continue
		}
		if total == 0 {
			// Every worker has had its stop: give sends it with the
			// answer to a worker's last chunk, or at the start.
			return fl, localErr, localIdx, nil
		}
		m, err := d.Mprobe(ctx, comm.AnySource, comm.AnyTag)
		if err != nil {
			return fl, nil, -1, err
		}
		if err := take(m); err != nil {
			return fl, nil, -1, err
		}
	}
}

func mapWorker[T, R any](ctx context.Context, d *comm.Comm, ranged bool, n int,
	in mover[T], out mover[R], f func(int, T) (R, error), cfg mapConfig) (errs map[int]error, err error) {
	root := cfg.root
	inPe, outPe := pieceLen(in.elemSize()), pieceLen(out.elemSize())
	// With raw elements (and for MapRange) the receives of the next chunk
	// are posted before the current one runs, into the other buffer.
	pre := ranged || inPe > 0
	inPieces := numPieces(cfg.chunk, inPe)
	var parts [2][]T
	var spans [2][]int64
	var posted [2][]*comm.Request
	post := func(i int) {
		j := i % 2
		rs := posted[j][:0]
		if ranged {
			if spans[j] == nil {
				spans[j] = make([]int64, 2)
			}
			rs = append(rs, comm.Irecv(d, spans[j], root, tagMapWork))
		} else {
			if parts[j] == nil {
				parts[j] = make([]T, cfg.chunk)
			}
			for q := range inPieces {
				rs = append(rs, in.irecv(d, parts[j][q*inPe:min(cfg.chunk, (q+1)*inPe)], root, tagMapWork))
			}
		}
		posted[j] = rs
	}
	var results [2][]R
	var sends [2][]*comm.Request
	defer func() {
		var all []*comm.Request
		for j := range 2 {
			for _, r := range posted[j] {
				r.Cancel()
			}
			all = append(all, sends[j]...)
		}
		if werr := settle(ctx, err != nil, all...); err == nil {
			err = werr
		}
	}()
	if pre {
		post(0)
	}
	for i := 0; ; i++ {
		j := i % 2
		var part []T
		lo, k := 0, 0 // the chunk's first global index (MapRange), its length
		if pre {
			pieces := posted[j]
			posted[j] = pieces[:0]
			for q, r := range pieces {
				st, err := r.Wait(ctx)
				if err != nil {
					// The pieces not yet waited for are withdrawn.
					for _, r := range pieces[q+1:] {
						r.Cancel()
					}
					return nil, err
				}
				if ranged {
					lo, k = int(spans[j][0]), int(spans[j][1]-spans[j][0])
					if st.Bytes == 0 {
						k = 0
					} else if st.Bytes != 16 || lo < 0 || k < 1 || k > cfg.chunk || lo > n-k {
						return nil, errMalformedf("map chunk {%d, +%d} (%d bytes) of %d", lo, k, st.Bytes, n)
					}
					continue
				}
				got, err := in.count(st)
				if err != nil {
					return nil, err
				}
				// Every piece is full but the trailing ones.
				if want := min(inPe, cfg.chunk-q*inPe); got > want {
					return nil, errMalformedf("map chunk piece of %d elements, want at most %d", got, want)
				}
				if got > 0 && k != q*inPe {
					return nil, errMalformedf("map chunk piece %d of %d elements after a short one", q, got)
				}
				k += got
			}
			if k == 0 {
				return errs, nil // the stop
			}
			if !ranged {
				part = parts[j][:k]
			}
			post(i + 1) // the next chunk, or the stop
		} else {
			xs, ok, err := in.recvAlloc(ctx, d, root, tagMapWork)
			if err != nil {
				return nil, err
			}
			if !ok {
				return errs, nil
			}
			if len(xs) > cfg.chunk {
				return nil, errMalformedf("map chunk of %d elements, chunk size %d", len(xs), cfg.chunk)
			}
			part, k = xs, len(xs)
		}
		// The results go from their own buffer: the sends of two chunks
		// ago must be done before it is reused.
		for _, r := range sends[j] {
			if _, err := r.Wait(ctx); err != nil {
				return nil, err
			}
		}
		sends[j] = sends[j][:0]
		results[j] = grow(results[j], k)
		res := results[j]
		bad, ferr := apply(cfg.pool, lo, part, res, f)
		if bad >= 0 {
			off := bad - lo
			if errs == nil {
				errs = map[int]error{}
			}
			errs[i*cfg.chunk+off] = ferr
			sends[j] = append(sends[j], d.IsendBytes(encodeMapFailure(off, ferr.Error()), root, tagMapFail))
			continue
		}
		for q := range numPieces(k, outPe) {
			a, b := 0, k
			if outPe > 0 {
				a, b = q*outPe, min(k, (q+1)*outPe)
			}
			r, err := out.isend(d, res[a:b], root, tagMapResult)
			if err != nil {
				return nil, err
			}
			sends[j] = append(sends[j], r)
		}
	}
}

// encodeMapFailure is a worker's failure message: the offset of the
// failing element in its chunk, then the error's text (at most
// maxErrText bytes of it).
func encodeMapFailure(off int, text string) []byte {
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+min(len(text), maxErrText)), uint64(off))
	return append(b, text[:min(len(text), maxErrText)]...)
}

// decodeMapFailure parses a failure message for a chunk of k elements,
// refusing (ErrMalformed) one too short, with an offset outside the chunk
// or a text longer than maxErrText.
func decodeMapFailure(b []byte, k int) (off int, text string, err error) {
	if len(b) < 8 || len(b) > 8+maxErrText {
		return 0, "", errMalformedf("map failure message of %d bytes", len(b))
	}
	o := binary.LittleEndian.Uint64(b)
	if k <= 0 || o >= uint64(k) {
		return 0, "", errMalformedf("map failure at offset %d of a chunk of %d", o, k)
	}
	return int(o), string(b[8:]), nil
}

// settle waits for the requests in rs (nil entries are skipped); after a
// failure (failed) it first withdraws those not yet matched, whose peer
// may never post the other side.
func settle(ctx context.Context, failed bool, rs ...*comm.Request) error {
	var err error
	for _, r := range rs {
		if r == nil {
			continue
		}
		if failed && r.Cancel() {
			continue
		}
		if _, werr := r.Wait(ctx); err == nil {
			err = werr
		}
	}
	return err
}
