package main

import (
	"context"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

// BenchmarkKernels times each stencil kernel once over the finest class A
// level (258^3 with ghosts) on one rank, ghost exchange included.
func BenchmarkKernels(b *testing.B) {
	ctx := context.Background()
	w, err := commtest.Start(ctx, 1, comm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	s, err := newMG(ctx, w.Comms[0], 256)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.zran3(ctx, w.Comms[0], 256); err != nil {
		b.Fatal(err)
	}
	lt := s.lt
	g := s.g[lt]
	u, v, r := s.u[lt], s.v, s.r[lt]
	for i := range u {
		u[i] = float64(i%7) * 1e-3
	}
	kernels := []struct {
		name string
		f    func() error
	}{
		{"resid", func() error { return s.resid(u, v, r, g) }},
		{"psinv", func() error { return s.psinv(r, u, g) }},
		{"rprj3", func() error { return s.rprj3(r, g, s.r[lt-1], s.g[lt-1]) }},
		{"interp", func() error { return s.interp(s.u[lt-1], s.g[lt-1], u, g) }},
		{"comm3", func() error { return s.d.comm3(u, g) }},
		{"clear", func() error { clear(s.u[lt-1]); return nil }},
		{"residNorm", func() error { _, _, err := s.residNorm(u, v, r, g); return err }},
		{"normLocal", func() error { normLocal(r, g); return nil }},
	}
	for _, k := range kernels {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if err := k.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
