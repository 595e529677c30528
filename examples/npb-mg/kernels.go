package main

// The stencil kernels of mg.f, on one rank's block with ghost faces. Loops
// and the order of each floating-point expression follow the reference;
// Go indices are mg.f's minus one. Every product that is then added is
// converted with float64(): the Go spec lets the compiler fuse x*y + z
// into one FMA (it does with GOAMD64=v3) unless a conversion asks for the
// product's rounding. So the product and the sum are rounded separately
// with any GOAMD64, and the AVX2 rows (no FMA) match these loops bit for
// bit.

// resid computes r = v - A u on the interior (r may be v), then refreshes
// r's ghosts.
func (s *mg) resid(u, v, r []float64, g grid3) error {
	if useAVX2 {
		residAVX2(u, v, r, g, &s.a, s.w)
	} else {
		residGo(u, v, r, g, &s.a)
	}
	return s.d.comm3(r, g)
}

// residGo is resid's interior in Go.
func residGo(u, v, r []float64, g grid3, a *[4]float64) {
	n1, n2, n3 := g.m1, g.m2, g.m3
	a0, a2, a3 := a[0], a[2], a[3]
	p := n1 * n2
	for i3 := 1; i3 < n3-1; i3++ {
		for i2 := 1; i2 < n2-1; i2++ {
			o := n1 * (i2 + n2*i3)
			um := u[o-n1:][:n1]
			up := u[o+n1:][:n1]
			ub := u[o-p:][:n1]
			uf := u[o+p:][:n1]
			umb := u[o-n1-p:][:n1]
			upb := u[o+n1-p:][:n1]
			umf := u[o-n1+p:][:n1]
			upf := u[o+n1+p:][:n1]
			uc := u[o:][:n1]
			vc := v[o:][:n1]
			rc := r[o:][:n1]
			// mg.f forms the sums u1 and u2 in scratch rows first; here
			// they move along in registers (same sums, same order).
			u1m := um[0] + up[0] + ub[0] + uf[0]
			u2m := umb[0] + upb[0] + umf[0] + upf[0]
			u1c := um[1] + up[1] + ub[1] + uf[1]
			u2c := umb[1] + upb[1] + umf[1] + upf[1]
			for i1 := 1; i1 < n1-1; i1++ {
				u1p := um[i1+1] + up[i1+1] + ub[i1+1] + uf[i1+1]
				u2p := umb[i1+1] + upb[i1+1] + umf[i1+1] + upf[i1+1]
				rc[i1] = vc[i1] - float64(a0*uc[i1]) - float64(a2*(u2c+u1m+u1p)) - float64(a3*(u2m+u2p))
				u1m, u1c = u1c, u1p
				u2m, u2c = u2c, u2p
			}
		}
	}
}

// residNorm is resid that also returns the local sums of norm2u3 over the
// interior of r (normLocal), which the ghost exchange does not change.
func (s *mg) residNorm(u, v, r []float64, g grid3) (sum, mx float64, err error) {
	if useAVX2 {
		sum, mx = residNormAVX2(u, v, r, g, &s.a, s.w)
	} else {
		residGo(u, v, r, g, &s.a)
		sum, mx = normLocal(r, g)
	}
	return sum, mx, s.d.comm3(r, g)
}

// psinv applies the smoother u = u + C r on the interior, then refreshes
// u's ghosts.
func (s *mg) psinv(r, u []float64, g grid3) error {
	if useAVX2 {
		psinvAVX2(r, u, g, &s.c, s.w)
	} else {
		psinvGo(r, u, g, &s.c)
	}
	return s.d.comm3(u, g)
}

// psinvGo is psinv's interior in Go.
func psinvGo(r, u []float64, g grid3, c *[4]float64) {
	n1, n2, n3 := g.m1, g.m2, g.m3
	c0, c1, c2 := c[0], c[1], c[2]
	p := n1 * n2
	for i3 := 1; i3 < n3-1; i3++ {
		for i2 := 1; i2 < n2-1; i2++ {
			o := n1 * (i2 + n2*i3)
			rm := r[o-n1:][:n1]
			rp := r[o+n1:][:n1]
			rb := r[o-p:][:n1]
			rf := r[o+p:][:n1]
			rmb := r[o-n1-p:][:n1]
			rpb := r[o+n1-p:][:n1]
			rmf := r[o-n1+p:][:n1]
			rpf := r[o+n1+p:][:n1]
			rc := r[o:][:n1]
			uc := u[o:][:n1]
			r1m := rm[0] + rp[0] + rb[0] + rf[0]
			r1c := rm[1] + rp[1] + rb[1] + rf[1]
			r2c := rmb[1] + rpb[1] + rmf[1] + rpf[1]
			for i1 := 1; i1 < n1-1; i1++ {
				r1p := rm[i1+1] + rp[i1+1] + rb[i1+1] + rf[i1+1]
				uc[i1] = uc[i1] + float64(c0*rc[i1]) + float64(c1*(rc[i1-1]+rc[i1+1]+r1c)) + float64(c2*(r2c+r1m+r1p))
				r1m, r1c = r1c, r1p
				r2c = rmb[i1+1] + rpb[i1+1] + rmf[i1+1] + rpf[i1+1]
			}
		}
	}
}

// rprj3 restricts the fine residual r (level k) to the coarse s (level
// k-1) with the full-weighting stencil, then refreshes s's ghosts. Only
// the regular case of mg.f (d1 = d2 = d3 = 1) arises with the rank counts
// supported here.
func (s *mg) rprj3(r []float64, gk grid3, sc []float64, gj grid3) error {
	m1k, m2k := gk.m1, gk.m2
	m1j, m2j, m3j := gj.m1, gj.m2, gj.m3
	x1, y1 := s.w1[:m1k], s.w2[:m1k]
	pk := m1k * m2k
	for j3 := 1; j3 < m3j-1; j3++ {
		i3 := 2 * j3
		for j2 := 1; j2 < m2j-1; j2++ {
			i2 := 2 * j2
			o := m1k * (i2 + m2k*i3)
			rc := r[o:][:m1k]
			rm := r[o-m1k:][:m1k]
			rp := r[o+m1k:][:m1k]
			rb := r[o-pk:][:m1k]
			rf := r[o+pk:][:m1k]
			rmb := r[o-m1k-pk:][:m1k]
			rmf := r[o-m1k+pk:][:m1k]
			rpb := r[o+m1k-pk:][:m1k]
			rpf := r[o+m1k+pk:][:m1k]
			for j1 := 1; j1 < m1j; j1++ {
				i := 2*j1 - 1
				x1[i] = rm[i] + rp[i] + rb[i] + rf[i]
				y1[i] = rmb[i] + rmf[i] + rpb[i] + rpf[i]
			}
			out := sc[m1j*(j2+m2j*j3) : m1j*(j2+m2j*j3)+m1j]
			for j1 := 1; j1 < m1j-1; j1++ {
				i := 2 * j1
				y2 := rmb[i] + rmf[i] + rpb[i] + rpf[i]
				x2 := rm[i] + rp[i] + rb[i] + rf[i]
				out[j1] = float64(0.5*rc[i]) + float64(0.25*(rc[i-1]+rc[i+1]+x2)) + float64(0.125*(x1[i-1]+x1[i+1]+y2)) + float64(0.0625*(y1[i-1]+y1[i+1]))
			}
		}
	}
	return s.d.comm3(sc, gj)
}

// interp adds the trilinear interpolation of the coarse z (level k-1) to
// the fine u (level k), then refreshes u's ghosts.
func (s *mg) interp(z []float64, gj grid3, u []float64, gk grid3) error {
	mm1, mm2, mm3 := gj.m1, gj.m2, gj.m3
	n1, n2 := gk.m1, gk.m2
	z1, z2, z3 := s.w1[:mm1], s.w2[:mm1], s.w3[:mm1]
	pz := mm1 * mm2
	pu := n1 * n2
	for i3 := 0; i3 < mm3-1; i3++ {
		for i2 := 0; i2 < mm2-1; i2++ {
			o := mm1 * (i2 + mm2*i3)
			zc := z[o : o+mm1]
			zp := z[o+mm1 : o+2*mm1]
			zf := z[o+pz : o+pz+mm1]
			zpf := z[o+mm1+pz : o+2*mm1+pz]
			for i1 := range z1 {
				z1[i1] = zp[i1] + zc[i1]
				z2[i1] = zf[i1] + zc[i1]
				z3[i1] = zpf[i1] + zf[i1] + z1[i1]
			}
			// Fine rows (2*i2, 2*i3), (2*i2+1, 2*i3), (2*i2, 2*i3+1), (2*i2+1, 2*i3+1).
			f00 := u[n1*(2*i2)+pu*(2*i3):][:n1]
			f10 := u[n1*(2*i2+1)+pu*(2*i3):][:n1]
			f01 := u[n1*(2*i2)+pu*(2*i3+1):][:n1]
			f11 := u[n1*(2*i2+1)+pu*(2*i3+1):][:n1]
			// mg.f updates the four fine rows in four loops; one loop
			// does the same updates (each point is written once).
			f00 = f00[:2*(mm1-1)]
			f10 = f10[:len(f00)]
			f01 = f01[:len(f00)]
			f11 = f11[:len(f00)]
			zc = zc[:mm1]
			z1, z2, z3 := z1[:mm1], z2[:mm1], z3[:mm1]
			for i1 := 0; i1 < mm1-1; i1++ {
				e, o := 2*i1, 2*i1+1
				f00[e] = f00[e] + zc[i1]
				f00[o] = f00[o] + float64(0.5*(zc[i1+1]+zc[i1]))
				f10[e] = f10[e] + float64(0.5*z1[i1])
				f10[o] = f10[o] + float64(0.25*(z1[i1]+z1[i1+1]))
				f01[e] = f01[e] + float64(0.5*z2[i1])
				f01[o] = f01[o] + float64(0.25*(z2[i1]+z2[i1+1]))
				f11[e] = f11[e] + float64(0.25*z3[i1])
				f11[o] = f11[o] + float64(0.125*(z3[i1]+z3[i1+1]))
			}
		}
	}
	return s.d.comm3(u, gk)
}
