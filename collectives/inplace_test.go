package collectives_test

import (
	"slices"

	"github.com/gorun-hpc/gorun/collectives"
)

// inPlace returns opts with InPlace added (a new slice).
func inPlace(opts []collectives.Option) []collectives.Option {
	return append(slices.Clip(opts), collectives.InPlace())
}

// withInPlace is inPlace when on is true, else opts.
func withInPlace(opts []collectives.Option, on bool) []collectives.Option {
	if on {
		return inPlace(opts)
	}
	return opts
}
