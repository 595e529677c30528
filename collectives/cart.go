package collectives

import (
	"context"
	"fmt"
	"slices"

	"github.com/gorun-hpc/gorun/comm"
)

// ProcNull is the neighbour Cart.Shift returns past the edge of a
// non-periodic dimension: comm.ProcNull (MPI_PROC_NULL), under the name
// Cartesian code looks for here.
const ProcNull = comm.ProcNull

// Cart is a communicator with a Cartesian grid topology: rank r has
// coordinates Coords(r), in row-major order (the last dimension varies
// fastest, as in MPI), and each dimension is periodic (a torus) or not.
// A Cart is immutable and safe for concurrent use; its communicator follows
// comm.Comm's rules.
type Cart struct {
	c       *comm.Comm
	dims    []int
	periods []bool
}

// NewCart builds a grid of the given dimensions over the first
// prod(dims) ranks of c (ranks keep their order: no reordering). It is
// collective over c; ranks beyond the grid get nil. prod(dims) must not
// exceed c.Size() and every dimension must be positive; len(periods) ==
// len(dims) (periods nil means none periodic). A dimension that is not
// positive, a grid larger than c or a len(periods) that differs is an
// error wrapping comm.ErrInvalidArgument, before any communication.
func NewCart(ctx context.Context, c *comm.Comm, dims []int, periods []bool) (*Cart, error) {
	if periods == nil {
		periods = make([]bool, len(dims))
	}
	if err := badLen("periods", len(periods), len(dims)); err != nil {
		return nil, wrap("NewCart", c, err)
	}
	for i, d := range dims {
		if d <= 0 {
			return nil, wrap("NewCart", c, fmt.Errorf("dims[%d] = %d is not positive: %w", i, d, comm.ErrInvalidArgument))
		}
	}
	n := 1
	for _, d := range dims {
		if n > c.Size() { // stops the product before it can overflow
			break
		}
		n *= d
	}
	if n > c.Size() {
		return nil, wrap("NewCart", c, fmt.Errorf("a grid of %d or more ranks on a communicator of %d: %w", n, c.Size(), comm.ErrInvalidArgument))
	}
	var cc *comm.Comm
	if n == c.Size() {
		cc = c.Dup()
	} else {
		ranks := make([]int, n)
		for i := range ranks {
			ranks[i] = i
		}
		var err error
		if cc, err = c.Create(ctx, ranks); err != nil {
			return nil, fmt.Errorf("collectives: NewCart: %w", err)
		}
		if cc == nil {
			return nil, nil
		}
	}
	return &Cart{c: cc, dims: slices.Clone(dims), periods: slices.Clone(periods)}, nil
}

// Comm returns the grid's communicator (its own context, the grid's ranks).
func (g *Cart) Comm() *comm.Comm { return g.c }

// Rank is g.Comm().Rank().
func (g *Cart) Rank() int { return g.c.Rank() }

// Dims returns the grid's dimensions (a copy).
func (g *Cart) Dims() []int { return slices.Clone(g.dims) }

// Periods returns which dimensions are periodic (a copy).
func (g *Cart) Periods() []bool { return slices.Clone(g.periods) }

// Coords returns the coordinates of rank r. It has no error result: a
// rank outside [0, Size()) panics.
func (g *Cart) Coords(r int) []int {
	if r < 0 || r >= g.c.Size() {
		panic(fmt.Sprintf("collectives: Cart.Coords: rank %d out of range [0,%d)", r, g.c.Size()))
	}
	co := make([]int, len(g.dims))
	for i := len(g.dims) - 1; i >= 0; i-- {
		co[i] = r % g.dims[i]
		r /= g.dims[i]
	}
	return co
}

// RankOf returns the rank at coords; periodic dimensions wrap, and a
// coordinate outside a non-periodic dimension gives ProcNull. It has no
// error result: a len(coords) other than the number of dimensions panics.
func (g *Cart) RankOf(coords []int) int {
	mustLen("Cart.RankOf", "coords", len(coords), len(g.dims))
	r := 0
	for i, x := range coords {
		d := g.dims[i]
		if x < 0 || x >= d {
			if !g.periods[i] {
				return ProcNull
			}
			x = mod(x, d)
		}
		r = r*d + x
	}
	return r
}

// Shift returns the ranks disp steps away from the calling rank along
// dimension dim: source (coordinate - disp, the rank to receive from) and
// dest (coordinate + disp, the rank to send to), as MPI_Cart_shift. Past the
// edge of a non-periodic dimension they are ProcNull. It has no error
// result: a dim outside [0, len(Dims())) panics.
func (g *Cart) Shift(dim, disp int) (source, dest int) {
	if err := g.badDim(dim); err != nil {
		panic("collectives: Cart.Shift: " + err.Error())
	}
	co := g.Coords(g.c.Rank())
	x := co[dim]
	co[dim] = x - disp
	source = g.RankOf(co)
	co[dim] = x + disp
	dest = g.RankOf(co)
	return source, dest
}

// badDim reports a dimension index outside [0, len(g.dims)).
func (g *Cart) badDim(dim int) error {
	if dim < 0 || dim >= len(g.dims) {
		return fmt.Errorf("dimension %d out of range [0,%d): %w", dim, len(g.dims), comm.ErrInvalidArgument)
	}
	return nil
}

// Sub returns the grid of the dimensions where remain is true, one per
// combination of the other coordinates (MPI_Cart_sub). Collective over g.
// A len(remain) other than the number of dimensions is an error wrapping
// comm.ErrInvalidArgument, before any communication.
func (g *Cart) Sub(ctx context.Context, remain []bool) (*Cart, error) {
	if err := badLen("remain", len(remain), len(g.dims)); err != nil {
		return nil, wrap("Cart.Sub", g.c, err)
	}
	co := g.Coords(g.c.Rank())
	color, key := 0, 0
	var dims []int
	var periods []bool
	for i, keep := range remain {
		if keep {
			key = key*g.dims[i] + co[i]
			dims = append(dims, g.dims[i])
			periods = append(periods, g.periods[i])
		} else {
			color = color*g.dims[i] + co[i]
		}
	}
	sc, err := g.c.Split(ctx, color, key)
	if err != nil {
		return nil, fmt.Errorf("collectives: Cart.Sub: %w", err)
	}
	return &Cart{c: sc, dims: dims, periods: periods}, nil
}

// ShiftExchange is the halo exchange step along one dimension: it sends
// sendbuf to the neighbour disp steps ahead and receives recvbuf from the
// one disp steps behind (Shift's dest and source), on the grid's
// communicator with the user tag tg, skipping a ProcNull side. recvbuf is
// left unchanged when there is no source. A dim outside [0, len(Dims()))
// is an error wrapping comm.ErrInvalidArgument; a bad tag is reported as
// comm's sends and receives report it.
func ShiftExchange[T comm.Elem](ctx context.Context, g *Cart, dim, disp int, sendbuf, recvbuf []T, tg int) error {
	if err := g.badDim(dim); err != nil {
		return wrap("ShiftExchange", g.c, err)
	}
	src, dst := g.Shift(dim, disp)
	var reqs []*comm.Request
	if src != ProcNull {
		reqs = append(reqs, comm.Irecv(g.c, recvbuf, src, tg))
	}
	if dst != ProcNull {
		reqs = append(reqs, comm.Isend(g.c, sendbuf, dst, tg))
	}
	return wrap("ShiftExchange", g.c, waitAll(ctx, reqs...))
}

// DimsCreate chooses a balanced grid of nnodes ranks (MPI_Dims_create):
// entries of dims that are positive are kept, zero entries are filled so
// that the product is nnodes and the filled dimensions are as close to each
// other as possible, in non-increasing order. It returns a new slice, or an
// error if nnodes is not divisible by the product of the fixed entries or
// an entry is negative (wrapping comm.ErrInvalidArgument).
func DimsCreate(nnodes int, dims []int) ([]int, error) {
	if nnodes <= 0 {
		return nil, fmt.Errorf("collectives: DimsCreate: %d nodes, want at least 1: %w", nnodes, comm.ErrInvalidArgument)
	}
	out := slices.Clone(dims)
	fixed := 1
	var free []int
	for i, d := range out {
		switch {
		case d < 0:
			return nil, fmt.Errorf("collectives: DimsCreate: dims[%d] = %d is negative: %w", i, d, comm.ErrInvalidArgument)
		case d == 0:
			free = append(free, i)
		default:
			fixed *= d
		}
	}
	if nnodes%fixed != 0 {
		return nil, fmt.Errorf("collectives: DimsCreate: %d nodes do not divide into the fixed dimensions (product %d): %w", nnodes, fixed, comm.ErrInvalidArgument)
	}
	rest := nnodes / fixed
	if len(free) == 0 {
		if rest != 1 {
			return nil, fmt.Errorf("collectives: DimsCreate: fixed dimensions make %d ranks, not %d: %w", fixed, nnodes, comm.ErrInvalidArgument)
		}
		return out, nil
	}
	f := make([]int, len(free))
	for i := range f {
		f[i] = 1
	}
	// Prime factors, largest first, each to the currently smallest dimension.
	var primes []int
	for q, m := 2, rest; m > 1; {
		if q*q > m {
			primes = append(primes, m)
			break
		}
		if m%q == 0 {
			primes = append(primes, q)
			m /= q
		} else {
			q++
		}
	}
	slices.Reverse(primes)
	for _, q := range primes {
		i := 0
		for j := range f {
			if f[j] < f[i] {
				i = j
			}
		}
		f[i] *= q
	}
	slices.Sort(f)
	slices.Reverse(f)
	for i, idx := range free {
		out[idx] = f[i]
	}
	return out, nil
}
