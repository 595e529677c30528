package topology

import (
	"slices"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// ISA describes the processor's instruction set as reported by CPUID.
type ISA struct {
	Vendor    string   `json:"vendor"`
	Brand     string   `json:"brand"`
	Family    int      `json:"family"`
	Model     int      `json:"model"`
	CacheLine int      `json:"cache_line"`
	Features  []string `json:"features"` // sorted feature names, e.g. "AVX2", "FMA3"
}

// Has reports whether the named feature (as in Features, case-insensitive)
// is present.
func (i ISA) Has(feature string) bool {
	return slices.ContainsFunc(i.Features, func(f string) bool { return strings.EqualFold(f, feature) })
}

// DetectISA queries the running processor through
// github.com/klauspost/cpuid/v2. On architectures without CPUID support the
// result has few or no features.
func DetectISA() ISA {
	c := cpuid.CPU
	isa := ISA{
		Vendor:    c.VendorString,
		Brand:     strings.TrimSpace(c.BrandName),
		Family:    c.Family,
		Model:     c.Model,
		CacheLine: c.CacheLine,
		Features:  c.FeatureSet(),
	}
	slices.Sort(isa.Features)
	return isa
}
