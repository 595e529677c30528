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
// i3; axis 3 over all i1, i2. f gets the flat index.
func plane(g grid3, ax, at int, f func(k, idx int)) {
	m1, m2, m3 := g.m1, g.m2, g.m3
	k := 0
	switch ax {
	case 0:
		for i3 := 1; i3 < m3-1; i3++ {
			for i2 := 1; i2 < m2-1; i2++ {
				f(k, at+m1*(i2+m2*i3))
				k++
			}
		}
	case 1:
		for i3 := 1; i3 < m3-1; i3++ {
			o := m1 * (at + m2*i3)
			for i1 := range m1 {
				f(k, o+i1)
				k++
			}
		}
	case 2:
		o := m1 * m2 * at
		for i := range m1 * m2 {
			f(k, o+i)
			k++
		}
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
			stride := 1
			if ax >= 1 {
				stride = g.m1
			}
			if ax == 2 {
				stride = g.m1 * g.m2
			}
			plane(g, ax, 0, func(_, idx int) {
				u[idx] = u[idx+(m-2)*stride]
				u[idx+(m-1)*stride] = u[idx+stride]
			})
			continue
		}
		n := planeLen(g, ax)
		lo, hi := d.sbuf[0][:n], d.sbuf[1][:n]
		plane(g, ax, 1, func(k, idx int) { lo[k] = u[idx] })
		plane(g, ax, m-2, func(k, idx int) { hi[k] = u[idx] })
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
		plane(g, ax, 0, func(k, idx int) { u[idx] = fromLo[k] })
		plane(g, ax, m-1, func(k, idx int) { u[idx] = fromHi[k] })
	}
	return nil
}
