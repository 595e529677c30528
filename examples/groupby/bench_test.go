package main

import (
	"os"
	"testing"
)

func BenchmarkReadRange(b *testing.B) {
	path := DataSpec{Rows: 1_000_000, Keys: 1000, Seed: 1}.DefaultPath()
	if err := Generate(DataSpec{Rows: 1_000_000, Keys: 1000, Seed: 1}, path); err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := ReadRange(path, 0, fi.Size()); err != nil {
			b.Fatal(err)
		}
	}
}
