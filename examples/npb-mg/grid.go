package main

import (
	"context"

	"github.com/gorun-hpc/gorun/comm"
)

// grid3 is one rank's share of one multigrid level: an m1 x m2 x m3 block
// (i1 fastest) whose faces 0 and m-1 are ghost planes holding the periodic
// neighbours' values, as in mg.f's u(m1,m2,m3).
type grid3 struct {
	m1, m2, m3 int
	is         [3]int // global index of the first interior point, per axis (0-based)
}

func (g grid3) size() int { return g.m1 * g.m2 * g.m3 }

// decomp is NPB-MPI MG's 3-D process grid (mg.f's setup): pi ranks along
// each axis, this rank at coordinates idi, and its neighbours.
type decomp struct {
	ctx  context.Context
	c    *comm.Comm
	pi   [3]int
	idi  [3]int
	nbr  [3][2]int // [axis][0: lower, 1: upper]
	sbuf [2][]float64
	rbuf [2][]float64
}

func newDecomp(ctx context.Context, c *comm.Comm, maxPlane int) *decomp {
	np, me := c.Size(), c.Rank()
	logp := 0
	for 1<<logp < np {
		logp++
	}
	d := &decomp{ctx: ctx, c: c}
	dx := logp / 3
	dy := (logp - dx) / 2
	d.pi = [3]int{1 << dx, 1 << dy, np >> (dx + dy)}
	d.idi[0] = me % d.pi[0]
	d.idi[1] = (me / d.pi[0]) % d.pi[1]
	d.idi[2] = me / (d.pi[0] * d.pi[1])
	for ax := range 3 {
		for dir := range 2 {
			id := d.idi
			if dir == 0 {
				id[ax] = (id[ax] - 1 + d.pi[ax]) % d.pi[ax]
			} else {
				id[ax] = (id[ax] + 1) % d.pi[ax]
			}
			d.nbr[ax][dir] = id[0] + d.pi[0]*(id[1]+d.pi[1]*id[2])
		}
	}
	for i := range 2 {
		d.sbuf[i] = make([]float64, maxPlane)
		d.rbuf[i] = make([]float64, maxPlane)
	}
	return d
}

// level returns this rank's block of a level with ng points per axis.
func (d *decomp) level(ng int) grid3 {
	var g grid3
	m := [3]int{}
	for ax := range 3 {
		n := ng / d.pi[ax]
		g.is[ax] = n * d.idi[ax]
		m[ax] = n + 2
	}
	g.m1, g.m2, g.m3 = m[0], m[1], m[2]
	return g
}

// plane visits the face at index at of axis ax, over the ranges mg.f's
// comm3 uses: axis 1 over interior i2, i3; axis 2 over all i1 and interior
// i3; axis 3 over all i1, i2. f gets the face's runs of contiguous points:
// the offset of the run in the face, its flat index in u and its length
// (one point on axis 1, a row on axis 2, the whole plane on axis 3).
func plane(g grid3, ax, at int, f func(k, idx, n int)) {
	m1, m2, m3 := g.m1, g.m2, g.m3
	k := 0
	switch ax {
	case 0:
		for i3 := 1; i3 < m3-1; i3++ {
			for i2 := 1; i2 < m2-1; i2++ {
				f(k, at+m1*(i2+m2*i3), 1)
				k++
			}
		}
	case 1:
		for i3 := 1; i3 < m3-1; i3++ {
			f(k, m1*(at+m2*i3), m1)
			k += m1
		}
	case 2:
		f(0, m1*m2*at, m1*m2)
	}
}

func planeLen(g grid3, ax int) int {
	switch ax {
	case 0:
		return (g.m2 - 2) * (g.m3 - 2)
	case 1:
		return g.m1 * (g.m3 - 2)
	}
	return g.m1 * g.m2
}

// comm3 fills the ghost faces of u with the periodic neighbours' interior
// faces, axis by axis (mg.f's comm3): the lower ghost gets the lower
// neighbour's last interior plane, the upper ghost the upper neighbour's
// first one.
func (d *decomp) comm3(u []float64, g grid3) error {
	ms := [3]int{g.m1, g.m2, g.m3}
	for ax := range 3 {
		m := ms[ax]
		if d.pi[ax] == 1 {
			if ax == 0 {
				// Two points per row: no copy calls.
				for i3 := 1; i3 < g.m3-1; i3++ {
					for i2 := 1; i2 < g.m2-1; i2++ {
						row := u[g.m1*(i2+g.m2*i3):][:g.m1]
						row[0] = row[g.m1-2]
						row[g.m1-1] = row[1]
					}
				}
				continue
			}
			stride := g.m1
			if ax == 2 {
				stride = g.m1 * g.m2
			}
			plane(g, ax, 0, func(_, idx, n int) {
				copy(u[idx:idx+n], u[idx+(m-2)*stride:])
				copy(u[idx+(m-1)*stride:][:n], u[idx+stride:])
			})
			continue
		}
		n := planeLen(g, ax)
		lo, hi := d.sbuf[0][:n], d.sbuf[1][:n]
		plane(g, ax, 1, func(k, idx, n int) { copyRun(lo[k:], u[idx:], n) })
		plane(g, ax, m-2, func(k, idx, n int) { copyRun(hi[k:], u[idx:], n) })
		fromLo, fromHi := d.rbuf[0][:n], d.rbuf[1][:n]
		tagUp, tagDown := 10+2*ax, 11+2*ax
		reqs := []*comm.Request{
			comm.Irecv(d.c, fromLo, d.nbr[ax][0], tagUp),
			comm.Irecv(d.c, fromHi, d.nbr[ax][1], tagDown),
			comm.Isend(d.c, hi, d.nbr[ax][1], tagUp),
			comm.Isend(d.c, lo, d.nbr[ax][0], tagDown),
		}
		if err := comm.WaitAll(d.ctx, reqs...); err != nil {
			return err
		}
		plane(g, ax, 0, func(k, idx, n int) { copyRun(u[idx:], fromLo[k:], n) })
		plane(g, ax, m-1, func(k, idx, n int) { copyRun(u[idx:], fromHi[k:], n) })
	}
	return nil
}

// copyRun copies n points from src to dst; the single points of axis-1
// faces go without a copy call.
func copyRun(dst, src []float64, n int) {
	if n == 1 {
		dst[0] = src[0]
		return
	}
	copy(dst[:n], src)
}
