package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Params of a run.
type Params struct {
	Samples, Features, Hidden int
	Layers                    int // hidden layers of Hidden units (at least 1)
	Batch, Epochs             int
	LR, Momentum              float64
	Seed                      uint64
	Fuse                      bool
	Overlap                   bool // start each layer's Iallreduce as soon as its backward is done
	Bucket                    int  // under Overlap, the least bytes of gradients of one Iallreduce (0: one per layer)
	// AsyncProgress, under Overlap, holds one extra P while the
	// Iallreduces are in flight (collectives.WithAsyncProgress): On or
	// Off, or zero for the communicator's setting (GORUN_ASYNC_PROGRESS).
	AsyncProgress comm.Toggle
	CheckSerial   bool
	TargetLoss    float64
}

// Tolerances of the comparison with one-rank training.
const (
	ParamTol = 1e-9 // largest absolute difference of a parameter
	LossTol  = 1e-9 // absolute difference of the final losses
)

// DefaultParams returns the flags' defaults.
func DefaultParams() Params {
	return Params{Samples: 4096, Features: 8, Hidden: 16, Layers: 1, Batch: 128, Epochs: 20,
		LR: 0.3, Momentum: 0.9, Seed: 3, Fuse: true, CheckSerial: true, TargetLoss: 0.15}
}

// Result of a run, the same on every rank except the serial comparison
// (rank 0 only).
type Result struct {
	Loss, Accuracy   float64 // on the whole training set, after training
	Params           []float64
	SerialLoss       float64 // rank 0 with CheckSerial
	SerialMaxDiff    float64 // largest |θ - θ_serial|, rank 0 with CheckSerial
	Pass             bool
	Steps            int
	Elapsed          time.Duration // distributed training only
	AllreduceSeconds float64       // of which in Allreduce (this rank)
}

// sample writes sample i into x and returns its label.
func sample(seed uint64, i int, x []float64) float64 {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	for k := range x {
		x[k] = rng.NormFloat64()
	}
	if x[0]*x[1]+math.Sin(2*x[2])+x[3]/2-x[4]*x[4]/4 > 0 {
		return 1
	}
	return 0
}

// shard holds the samples i ≡ rank (mod size), row i/size.
type shard struct {
	rank, size int
	x          *mat.Dense
	y          []float64
}

func makeShard(p Params, rank, size int) *shard {
	n := (p.Samples - rank + size - 1) / size
	s := &shard{rank: rank, size: size, x: mat.NewDense(max(n, 1), p.Features, nil), y: make([]float64, n)}
	for k := range n {
		s.y[k] = sample(p.Seed, rank+k*size, s.x.RawRowView(k))
	}
	return s
}

// model is an MLP whose parameters are views of one flat buffer: layer l
// (0-based, Layers hidden tanh layers and then the sigmoid output layer)
// has weights w[l] (width[l+1]×width[l]) and biases b[l], stored W then b,
// layer after layer.
type model struct {
	width  []int // d, h, ..., h, 1
	flat   []float64
	w      []*mat.Dense // per layer
	b      [][]float64  // per layer
	off    []int        // where layer l's parameters start in flat; off[L+1] = len(flat)
	tensor [][]float64  // W0, b0, W1, b1, ... as slices of flat
}

// widths returns the layer widths of p's model.
func widths(p Params) []int {
	w := []int{p.Features}
	for range max(p.Layers, 1) {
		w = append(w, p.Hidden)
	}
	return append(w, 1)
}

// size is the number of parameters of a model of these widths.
func size(width []int) int {
	n := 0
	for l := 0; l+1 < len(width); l++ {
		n += width[l+1]*width[l] + width[l+1]
	}
	return n
}

func newModel(width []int, flat []float64) *model {
	m := &model{width: width, flat: flat}
	o := 0
	next := func(n int) []float64 { s := flat[o : o+n : o+n]; o += n; return s }
	for l := 0; l+1 < len(width); l++ {
		m.off = append(m.off, o)
		in, out := width[l], width[l+1]
		w, b := next(out*in), next(out)
		m.w, m.b = append(m.w, mat.NewDense(out, in, w)), append(m.b, b)
		m.tensor = append(m.tensor, w, b)
	}
	m.off = append(m.off, o)
	return m
}

// layers is the number of weight layers (hidden layers + the output).
func (m *model) layers() int { return len(m.w) }

// initModel draws the initial weights (the same on every rank).
func initModel(p Params) *model {
	width := widths(p)
	m := newModel(width, make([]float64, size(width)))
	rng := rand.New(rand.NewPCG(p.Seed, 0x77656967687473))
	for l, w := range m.w {
		for i := range w.RawMatrix().Data {
			w.RawMatrix().Data[i] = rng.NormFloat64() / math.Sqrt(float64(width[l]))
		}
	}
	return m
}

// softplus(z) = ln(1 + e^z), computed without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// work is scratch space for a batch of up to rows samples: a[l] is the
// input of layer l (a[0] the samples, a[L+1] the output logits) and dz[l]
// the error at layer l's output.
type work struct {
	a, dz []*mat.Dense
	y     []float64
}

func newWork(rows int, width []int) *work {
	rows = max(rows, 1)
	w := &work{y: make([]float64, rows)}
	for _, n := range width {
		w.a = append(w.a, mat.NewDense(rows, n, nil))
		w.dz = append(w.dz, mat.NewDense(rows, n, nil))
	}
	return w
}

// x is the batch's sample matrix (its first rows are filled by the caller).
func (w *work) x() *mat.Dense { return w.a[0] }

// forward computes the output logits of the first n rows of w.x and returns
// the summed loss and number of correct predictions.
func (m *model) forward(w *work, n int) (loss float64, correct int) {
	L := m.layers()
	for l := range L {
		in := w.a[l].Slice(0, n, 0, m.width[l])
		out := w.a[l+1].Slice(0, n, 0, m.width[l+1]).(*mat.Dense)
		out.Mul(in, m.w[l].T())
		for r := range n {
			row := out.RawRowView(r)
			for k := range row {
				row[k] += m.b[l][k]
				if l < L-1 {
					row[k] = math.Tanh(row[k])
				}
			}
		}
	}
	z2 := w.a[L]
	for r := range n {
		z := z2.At(r, 0)
		// BCE with logits: y ? softplus(-z) : softplus(z)
		if w.y[r] == 1 {
			loss += softplus(-z)
		} else {
			loss += softplus(z)
		}
		if (z > 0) == (w.y[r] == 1) {
			correct++
		}
	}
	return loss, correct
}

// backward adds to g the gradient of (summed loss)/scale over the first n
// rows, after forward, from the output layer down. After layer l's
// gradients (g.w[l], g.b[l]) are complete it calls done(l), which may send
// them off: backward does not touch them again.
func (m *model) backward(w *work, n int, g *model, scale float64, done func(l int) error) error {
	L := m.layers()
	dz := w.dz[L].Slice(0, n, 0, 1).(*mat.Dense)
	for r := range n {
		pr := 1 / (1 + math.Exp(-w.a[L].At(r, 0)))
		dz.Set(r, 0, (pr-w.y[r])/scale)
	}
	for l := L - 1; l >= 0; l-- {
		in := w.a[l].Slice(0, n, 0, m.width[l]).(*mat.Dense)
		dz := w.dz[l+1].Slice(0, n, 0, m.width[l+1]).(*mat.Dense)
		for r := range n {
			for k, d := range dz.RawRowView(r) {
				g.b[l][k] += d
			}
		}
		var t mat.Dense
		t.Mul(dz.T(), in) // width[l+1]×width[l]
		g.w[l].Add(g.w[l], &t)
		if err := done(l); err != nil {
			return err
		}
		if l == 0 {
			break
		}
		// The error at the layer below: through W then tanh'.
		prev := w.dz[l].Slice(0, n, 0, m.width[l]).(*mat.Dense)
		prev.Mul(dz, m.w[l])
		for r := range n {
			drow, arow := prev.RawRowView(r), in.RawRowView(r)
			for k := range drow {
				drow[k] *= 1 - arow[k]*arow[k]
			}
		}
	}
	return nil
}

// reducer sums gradient buffers over the ranks: start begins the sum of
// one buffer (a blocking Allreduce may finish it at once), wait waits for
// every sum started. The zero reducer does nothing (one rank).
type reducer struct {
	start func(buf []float64) error
	wait  func() error
}

func (r reducer) startSum(buf []float64) error {
	if r.start == nil {
		return nil
	}
	return r.start(buf)
}

func (r reducer) waitSums() error {
	if r.wait == nil {
		return nil
	}
	return r.wait()
}

// train runs the whole training on one shard, with red summing the
// gradient buffers over the ranks. The last element of the gradient
// buffer is the batch's loss. With p.Overlap each layer's gradients (the
// output layer's with the loss) are sent off as soon as backward has
// computed them, while the layers below are computed, and all are waited
// for before the update; otherwise one fused buffer (p.Fuse) or each
// tensor and the loss in turn are summed after the whole backward pass.
func train(p Params, s *shard, red reducer) (*model, int, error) {
	m := initModel(p)
	gflat := make([]float64, len(m.flat)+1) // gradients, then the batch loss
	g := newModel(m.width, gflat[:len(m.flat)])
	vel := make([]float64, len(m.flat))
	w := newWork(p.Batch/s.size+1, m.width)
	perEpoch := p.Samples / p.Batch
	steps := 0
	var bufs [][]float64
	if p.Fuse {
		bufs = [][]float64{gflat}
	} else {
		bufs = append(append(bufs, g.tensor...), gflat[len(m.flat):])
	}
	L := m.layers()
	// Under Overlap, the layers' gradients are sent off in buckets, from
	// the output layer down: a bucket is started once it holds at least
	// p.Bucket bytes (0: every layer on its own) and at the input layer.
	hi := len(gflat) // the bucket being filled is gflat[m.off[l]:hi]; the output layer's travels with the loss
	layerDone := func(l int) error {
		if !p.Overlap || (8*(hi-m.off[l]) < p.Bucket && l > 0) {
			return nil
		}
		err := red.startSum(gflat[m.off[l]:hi])
		hi = m.off[l]
		if l == 0 {
			hi = len(gflat)
		}
		return err
	}
	for range p.Epochs {
		for b := range perEpoch {
			lo := b * p.Batch
			// This rank's samples of [lo, lo+Batch): i ≡ rank (mod size).
			n := 0
			for i := lo + ((s.rank-lo)%s.size+s.size)%s.size; i < lo+p.Batch; i += s.size {
				copy(w.x().RawRowView(n), s.x.RawRowView(i/s.size))
				w.y[n] = s.y[i/s.size]
				n++
			}
			clear(gflat)
			if n > 0 {
				loss, _ := m.forward(w, n)
				gflat[len(gflat)-1] = loss
				if err := m.backward(w, n, g, float64(p.Batch), layerDone); err != nil {
					return nil, steps, err
				}
			} else {
				for l := L - 1; l >= 0; l-- {
					if err := layerDone(l); err != nil {
						return nil, steps, err
					}
				}
			}
			if !p.Overlap {
				for _, b := range bufs {
					if err := red.startSum(b); err != nil {
						return nil, steps, err
					}
				}
			}
			if err := red.waitSums(); err != nil {
				return nil, steps, err
			}
			for k, gk := range gflat[:len(m.flat)] {
				vel[k] = p.Momentum*vel[k] - p.LR*gk
				m.flat[k] += vel[k]
			}
			steps++
		}
	}
	return m, steps, nil
}

// evaluate returns the summed loss and correct count over the shard.
func evaluate(m *model, s *shard, p Params) (float64, int) {
	const chunk = 512
	w := newWork(chunk, widths(p))
	var loss float64
	var correct int
	for lo := 0; lo < len(s.y); lo += chunk {
		n := min(chunk, len(s.y)-lo)
		for r := range n {
			copy(w.x().RawRowView(r), s.x.RawRowView(lo+r))
			w.y[r] = s.y[lo+r]
		}
		l, c := m.forward(w, n)
		loss += l
		correct += c
	}
	return loss, correct
}

// arch spells the model's layer widths, "8-16-1".
func arch(p Params) string {
	var b strings.Builder
	for i, w := range widths(p) {
		if i > 0 {
			b.WriteByte('-')
		}
		fmt.Fprint(&b, w)
	}
	return b.String()
}

// Run trains on c and reports to out (pass io.Discard on all ranks but one).
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (Result, error) {
	var res Result
	if p.Features < 5 || p.Hidden < 1 || p.Layers < 1 || p.Batch < c.Size() || p.Samples%p.Batch != 0 || p.Epochs < 0 {
		return res, fmt.Errorf("bad parameters (need -d >= 5, -hidden, -layers >= 1, -batch >= ranks = %d, -batch dividing -m): %+v", c.Size(), p)
	}
	s := makeShard(p, c.Rank(), c.Size())
	fmt.Fprintf(out, "ddp: MLP %s (%d parameters), %d samples in shards over %d ranks, batch %d, %d epochs, fused allreduce %v, overlapped %v, async progress %v\n",
		arch(p), size(widths(p)), p.Samples, c.Size(), p.Batch, p.Epochs, p.Fuse && !p.Overlap, p.Overlap,
		p.Overlap && (p.AsyncProgress == comm.On || p.AsyncProgress == 0 && c.AsyncProgress()))
	if err := collectives.Barrier(ctx, c); err != nil {
		return res, err
	}
	var inReduce time.Duration
	start := time.Now()
	var pending []*comm.Request
	iopts := []collectives.Option{collectives.InPlace()}
	if p.AsyncProgress != 0 {
		iopts = append(iopts, collectives.WithAsyncProgress(p.AsyncProgress == comm.On))
	}
	red := reducer{
		start: func(b []float64) error {
			t := time.Now()
			defer func() { inReduce += time.Since(t) }()
			if p.Overlap {
				pending = append(pending, collectives.Iallreduce(ctx, c, b, nil, collectives.Sum[float64](), iopts...))
				return nil
			}
			return collectives.Allreduce(ctx, c, b, nil, collectives.Sum[float64](), collectives.InPlace())
		},
		wait: func() error {
			t := time.Now()
			defer func() { inReduce += time.Since(t) }()
			err := comm.WaitAll(ctx, pending...)
			pending = pending[:0]
			return err
		},
	}
	m, steps, err := train(p, s, red)
	if err != nil {
		return res, err
	}
	res.Elapsed, res.Steps, res.AllreduceSeconds = time.Since(start), steps, inReduce.Seconds()
	res.Params = m.flat

	l, corr := evaluate(m, s, p)
	tot := []float64{l, float64(corr)}
	if err := collectives.Allreduce(ctx, c, tot, nil, collectives.Sum[float64](), collectives.InPlace()); err != nil {
		return res, err
	}
	res.Loss, res.Accuracy = tot[0]/float64(p.Samples), tot[1]/float64(p.Samples)
	fmt.Fprintf(out, "after %d steps: training loss %.6f, accuracy %.4f\n", steps, res.Loss, res.Accuracy)
	fmt.Fprintf(out, "elapsed %.6f s  (allreduce %.3f s on rank 0)\n", res.Elapsed.Seconds(), res.AllreduceSeconds)

	// The serial reference on rank 0; the verdict is then shared.
	ok := res.Loss <= p.TargetLoss
	why := fmt.Sprintf("loss %.6f <= target %g", res.Loss, p.TargetLoss)
	if !ok {
		why = fmt.Sprintf("loss %.6f > target %g", res.Loss, p.TargetLoss)
	}
	if c.Rank() == 0 && p.CheckSerial {
		all := makeShard(p, 0, 1)
		ms, _, _ := train(p, all, reducer{})
		sl, _ := evaluate(ms, all, p)
		res.SerialLoss = sl / float64(p.Samples)
		for k := range ms.flat {
			res.SerialMaxDiff = max(res.SerialMaxDiff, math.Abs(ms.flat[k]-m.flat[k]))
		}
		match := res.SerialMaxDiff <= ParamTol && math.Abs(res.SerialLoss-res.Loss) <= LossTol
		fmt.Fprintf(out, "one-rank training: loss %.6f, largest parameter difference %.2e (tolerance %.0e)\n",
			res.SerialLoss, res.SerialMaxDiff, ParamTol)
		if match {
			why += fmt.Sprintf("; matches one-rank training (parameters within %.0e, loss within %.0e)", ParamTol, LossTol)
		} else {
			why += "; DIFFERS from one-rank training"
		}
		ok = ok && match
	}
	flag := []int32{0}
	if ok {
		flag[0] = 1
	}
	if err := collectives.Bcast(ctx, c, flag, 0); err != nil {
		return res, err
	}
	res.Pass = flag[0] == 1
	if res.Pass {
		fmt.Fprintf(out, "VERDICT PASS: %s\n", why)
	} else {
		fmt.Fprintf(out, "VERDICT FAIL: %s\n", why)
	}
	return res, nil
}
