package main

// Checkpoint files: one file per checkpoint, independent of the number of
// ranks that wrote it.
//
//	offset 0:  "HEAT2D\x00\x01" (magic and format version)
//	offset 8:  N, uint64 little-endian
//	offset 16: step, uint64 little-endian
//	offset 24: 40 bytes reserved (zero)
//	offset 64: the N×N interior field, float64 little-endian, row-major
//	           (row j = 0..N-1 bottom to top, column i = 0..N-1)
//
// Rank 0 creates the file under a temporary name with its header; after a
// barrier every rank writes its own rows at their offsets and syncs; after a
// second agreement rank 0 renames the file to heat2d-STEP.ckpt and removes
// all but the two newest checkpoints.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gorun-hpc/gorun/collectives"
	"github.com/gorun-hpc/gorun/comm"
)

const (
	ckptMagic  = "HEAT2D\x00\x01"
	ckptHeader = 64
	ckptKeep   = 2
)

func ckptName(dir string, step int) string {
	return filepath.Join(dir, fmt.Sprintf("heat2d-%09d.ckpt", step))
}

func writeCheckpoint(ctx context.Context, c *comm.Comm, b *block, dir string, step int) error {
	final := ckptName(dir, step)
	tmp := final + ".tmp"
	var err error
	if c.Rank() == 0 {
		err = func() error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			hdr := make([]byte, ckptHeader)
			copy(hdr, ckptMagic)
			binary.LittleEndian.PutUint64(hdr[8:], uint64(b.n))
			binary.LittleEndian.PutUint64(hdr[16:], uint64(step))
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			_, err = f.Write(hdr)
			return errors.Join(err, f.Close())
		}()
	}
	if err := agree(ctx, c, err); err != nil {
		return err
	}
	err = func() error {
		f, err := os.OpenFile(tmp, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		row := make([]byte, 8*b.nx)
		for lj := 1; lj <= b.ny; lj++ {
			for li := 1; li <= b.nx; li++ {
				binary.LittleEndian.PutUint64(row[8*(li-1):], math.Float64bits(b.u[b.at(li, lj)]))
			}
			off := int64(ckptHeader) + 8*(int64(b.j0+lj-1)*int64(b.n)+int64(b.i0))
			if _, err := f.WriteAt(row, off); err != nil {
				f.Close()
				return err
			}
		}
		return errors.Join(f.Sync(), f.Close())
	}()
	if err := agree(ctx, c, err); err != nil {
		return err
	}
	if c.Rank() == 0 {
		err = os.Rename(tmp, final)
		if err == nil {
			steps, _ := listCheckpoints(dir)
			for len(steps) > ckptKeep {
				os.Remove(ckptName(dir, steps[0]))
				steps = steps[1:]
			}
		}
	}
	return agree(ctx, c, err)
}

// listCheckpoints returns the steps of the complete checkpoints in dir, in
// increasing order.
func listCheckpoints(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "heat2d-") || !strings.HasSuffix(name, ".ckpt") {
			continue
		}
		s, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "heat2d-"), ".ckpt"))
		if err == nil && s >= 0 {
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	return steps, nil
}

// readCheckpoint loads the newest checkpoint of dir into b (its own rows) and
// returns its step. Rank 0 picks the file; every rank checks its header.
func readCheckpoint(ctx context.Context, c *comm.Comm, b *block, dir string) (int, error) {
	pick := []int64{-1}
	var err error
	if c.Rank() == 0 {
		var steps []int
		steps, err = listCheckpoints(dir)
		if err == nil && len(steps) == 0 {
			err = fmt.Errorf("no checkpoint in %s", dir)
		}
		if err == nil {
			pick[0] = int64(steps[len(steps)-1])
		}
	}
	if err := agree(ctx, c, err); err != nil {
		return 0, err
	}
	if err := collectives.Bcast(ctx, c, pick, 0); err != nil {
		return 0, err
	}
	step := int(pick[0])
	name := ckptName(dir, step)
	err = func() error {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		hdr := make([]byte, ckptHeader)
		if _, err := f.ReadAt(hdr, 0); err != nil {
			return fmt.Errorf("%s: header: %w", name, err)
		}
		if string(hdr[:8]) != ckptMagic {
			return fmt.Errorf("%s: not a heat2d checkpoint", name)
		}
		if n := binary.LittleEndian.Uint64(hdr[8:]); n != uint64(b.n) {
			return fmt.Errorf("%s: written for -n %d, this run has -n %d", name, n, b.n)
		}
		if s := binary.LittleEndian.Uint64(hdr[16:]); s != uint64(step) {
			return fmt.Errorf("%s: header says step %d", name, s)
		}
		row := make([]byte, 8*b.nx)
		for lj := 1; lj <= b.ny; lj++ {
			off := int64(ckptHeader) + 8*(int64(b.j0+lj-1)*int64(b.n)+int64(b.i0))
			if _, err := f.ReadAt(row, off); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for li := 1; li <= b.nx; li++ {
				b.u[b.at(li, lj)] = math.Float64frombits(binary.LittleEndian.Uint64(row[8*(li-1):]))
			}
		}
		return nil
	}()
	if err := agree(ctx, c, err); err != nil {
		return 0, err
	}
	return step, nil
}
