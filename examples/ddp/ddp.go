package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

// Params of a run.
type Params struct {
	Samples, Features, Hidden int
	Batch, Epochs             int
	LR, Momentum              float64
	Seed                      uint64
	Fuse                      bool
	Overlap                   bool // start each layer's Iallreduce as soon as its backward is done
	CheckSerial               bool
	TargetLoss                float64
}

// Tolerances of the comparison with one-rank training.
const (
	ParamTol = 1e-9 // largest absolute difference of a parameter
	LossTol  = 1e-9 // absolute difference of the final losses
)

// DefaultParams returns the flags' defaults.
func DefaultParams() Params {
	return Params{Samples: 4096, Features: 8, Hidden: 16, Batch: 128, Epochs: 20,
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

// model is an MLP whose parameters are views of one flat buffer.
type model struct {
	d, h   int
	flat   []float64
	w1     *mat.Dense  // h×d
	b1     []float64   // h
	w2     *mat.Dense  // 1×h
	b2     []float64   // 1
	tensor [][]float64 // the four tensors as slices of flat, in order
}

func size(d, h int) int { return h*d + h + h + 1 }

func newModel(d, h int, flat []float64) *model {
	m := &model{d: d, h: h, flat: flat}
	o := 0
	next := func(n int) []float64 { s := flat[o : o+n : o+n]; o += n; return s }
	w1, b1, w2, b2 := next(h*d), next(h), next(h), next(1)
	m.w1, m.b1, m.w2, m.b2 = mat.NewDense(h, d, w1), b1, mat.NewDense(1, h, w2), b2
	m.tensor = [][]float64{w1, b1, w2, b2}
	return m
}

// initModel draws the initial weights (the same on every rank).
func initModel(p Params) *model {
	m := newModel(p.Features, p.Hidden, make([]float64, size(p.Features, p.Hidden)))
	rng := rand.New(rand.NewPCG(p.Seed, 0x77656967687473))
	for i := range m.w1.RawMatrix().Data {
		m.w1.RawMatrix().Data[i] = rng.NormFloat64() / math.Sqrt(float64(p.Features))
	}
	for i := range m.w2.RawMatrix().Data {
		m.w2.RawMatrix().Data[i] = rng.NormFloat64() / math.Sqrt(float64(p.Hidden))
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

// work is scratch space for a batch of up to rows samples.
type work struct {
	x, a1, dz1 *mat.Dense
	z2, dz2    *mat.Dense
	y          []float64
}

func newWork(rows, d, h int) *work {
	rows = max(rows, 1)
	return &work{x: mat.NewDense(rows, d, nil), a1: mat.NewDense(rows, h, nil), dz1: mat.NewDense(rows, h, nil),
		z2: mat.NewDense(rows, 1, nil), dz2: mat.NewDense(rows, 1, nil), y: make([]float64, rows)}
}

// forward computes the output logits of the first n rows of w.x and returns
// the summed loss and number of correct predictions.
func (m *model) forward(w *work, n int) (loss float64, correct int) {
	x := w.x.Slice(0, n, 0, m.d)
	a1 := w.a1.Slice(0, n, 0, m.h).(*mat.Dense)
	z2 := w.z2.Slice(0, n, 0, 1).(*mat.Dense)
	a1.Mul(x, m.w1.T())
	for r := range n {
		row := a1.RawRowView(r)
		for k := range row {
			row[k] = math.Tanh(row[k] + m.b1[k])
		}
	}
	z2.Mul(a1, m.w2.T())
	for r := range n {
		z := z2.At(r, 0) + m.b2[0]
		z2.Set(r, 0, z)
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

// backward adds to g the gradient of (summed loss)/scale over the first n rows,
// after forward.
func (m *model) backward(w *work, n int, g *model, scale float64) {
	m.backwardOut(w, n, g, scale)
	m.backwardHidden(w, n, g)
}

// backwardOut is the output layer's part of backward: it adds the
// gradients of W2 and b2 to g and leaves the hidden layer's error in w.dz1.
func (m *model) backwardOut(w *work, n int, g *model, scale float64) {
	a1 := w.a1.Slice(0, n, 0, m.h).(*mat.Dense)
	dz2 := w.dz2.Slice(0, n, 0, 1).(*mat.Dense)
	dz1 := w.dz1.Slice(0, n, 0, m.h).(*mat.Dense)
	for r := range n {
		pr := 1 / (1 + math.Exp(-w.z2.At(r, 0)))
		d := (pr - w.y[r]) / scale
		dz2.Set(r, 0, d)
		g.b2[0] += d
	}
	var t mat.Dense
	t.Mul(dz2.T(), a1) // 1×h
	g.w2.Add(g.w2, &t)
	dz1.Mul(dz2, m.w2) // n×h
	for r := range n {
		drow, arow := dz1.RawRowView(r), a1.RawRowView(r)
		for k := range drow {
			drow[k] *= 1 - arow[k]*arow[k]
		}
	}
}

// backwardHidden is the hidden layer's part of backward, after
// backwardOut: it adds the gradients of W1 and b1 to g. It reads neither
// g.w2 nor g.b2, which may meanwhile be on their way to the other ranks.
func (m *model) backwardHidden(w *work, n int, g *model) {
	x := w.x.Slice(0, n, 0, m.d)
	dz1 := w.dz1.Slice(0, n, 0, m.h).(*mat.Dense)
	for r := range n {
		for k, d := range dz1.RawRowView(r) {
			g.b1[k] += d
		}
	}
	var t1 mat.Dense
	t1.Mul(dz1.T(), x) // h×d
	g.w1.Add(g.w1, &t1)
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
// buffer is the batch's loss. With p.Overlap the output layer's gradients
// (W2, b2 and the loss, the tail of the buffer) are sent off as soon as
// they are computed, and the hidden layer's (W1, b1) when they are, with
// both waited for before the update.
func train(p Params, s *shard, red reducer) (*model, int, error) {
	m := initModel(p)
	gflat := make([]float64, len(m.flat)+1) // gradients, then the batch loss
	g := newModel(p.Features, p.Hidden, gflat[:len(m.flat)])
	vel := make([]float64, len(m.flat))
	w := newWork(p.Batch/s.size+1, p.Features, p.Hidden)
	perEpoch := p.Samples / p.Batch
	steps := 0
	var bufs [][]float64
	split := p.Features*p.Hidden + p.Hidden // W1 and b1 before, W2, b2 and the loss from here
	if p.Overlap {
		bufs = [][]float64{gflat[:split], gflat[split:]}
	} else if p.Fuse {
		bufs = [][]float64{gflat}
	} else {
		bufs = append(append(bufs, g.tensor...), gflat[len(m.flat):])
	}
	for range p.Epochs {
		for b := range perEpoch {
			lo := b * p.Batch
			// This rank's samples of [lo, lo+Batch): i ≡ rank (mod size).
			n := 0
			for i := lo + ((s.rank-lo)%s.size+s.size)%s.size; i < lo+p.Batch; i += s.size {
				copy(w.x.RawRowView(n), s.x.RawRowView(i/s.size))
				w.y[n] = s.y[i/s.size]
				n++
			}
			clear(gflat)
			loss := 0.0
			if n > 0 {
				loss, _ = m.forward(w, n)
				m.backwardOut(w, n, g, float64(p.Batch))
			}
			gflat[len(gflat)-1] = loss
			if p.Overlap {
				// The output layer's sum travels while the hidden layer's
				// gradient is computed.
				if err := red.startSum(bufs[1]); err != nil {
					return nil, steps, err
				}
				bufs = bufs[:1]
			}
			if n > 0 {
				m.backwardHidden(w, n, g)
			}
			for _, b := range bufs {
				if err := red.startSum(b); err != nil {
					return nil, steps, err
				}
			}
			if p.Overlap {
				bufs = [][]float64{gflat[:split], gflat[split:]}
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
	w := newWork(chunk, p.Features, p.Hidden)
	var loss float64
	var correct int
	for lo := 0; lo < len(s.y); lo += chunk {
		n := min(chunk, len(s.y)-lo)
		for r := range n {
			copy(w.x.RawRowView(r), s.x.RawRowView(lo+r))
			w.y[r] = s.y[lo+r]
		}
		l, c := m.forward(w, n)
		loss += l
		correct += c
	}
	return loss, correct
}

// Run trains on c and reports to out (pass io.Discard on all ranks but one).
func Run(ctx context.Context, c *comm.Comm, p Params, out io.Writer) (Result, error) {
	var res Result
	if p.Features < 5 || p.Hidden < 1 || p.Batch < c.Size() || p.Samples%p.Batch != 0 || p.Epochs < 0 {
		return res, fmt.Errorf("bad parameters (need -d >= 5, -batch >= ranks = %d, -batch dividing -m): %+v", c.Size(), p)
	}
	s := makeShard(p, c.Rank(), c.Size())
	fmt.Fprintf(out, "ddp: MLP %d-%d-1 (%d parameters), %d samples in shards over %d ranks, batch %d, %d epochs, fused allreduce %v, overlapped %v\n",
		p.Features, p.Hidden, size(p.Features, p.Hidden), p.Samples, c.Size(), p.Batch, p.Epochs, p.Fuse && !p.Overlap, p.Overlap)
	if err := collectives.Barrier(ctx, c); err != nil {
		return res, err
	}
	var inReduce time.Duration
	start := time.Now()
	var pending []*comm.Request
	red := reducer{
		start: func(b []float64) error {
			t := time.Now()
			defer func() { inReduce += time.Since(t) }()
			if p.Overlap {
				pending = append(pending, collectives.Iallreduce(ctx, c, b, nil, collectives.Sum[float64](), collectives.InPlace()))
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
