package main

import (
	"context"
	"io"
	"testing"

	"github.com/gorun-hpc/gorun/comm"
	"github.com/gorun-hpc/gorun/comm/commtest"
)

func BenchmarkClassW(b *testing.B) {
	for b.Loop() {
		commtest.Run(b, 1, comm.Config{}, func(ctx context.Context, c *comm.Comm) error {
			_, err := Run(ctx, c, 'W', io.Discard)
			return err
		})
	}
}
