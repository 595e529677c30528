package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// The synthetic data set: one sale per line,
//
//	order_id,store,region,quantity,amount
//	0,412,west,3,129.99
//
// group-by key: store. With skew s, a fraction s of the rows belongs to
// store 0 (the "hot key"); the rest are spread uniformly over all stores.

var regions = []string{"north", "south", "east", "west", "central"}

// DataSpec describes a synthetic data set; the same spec always gives the
// same bytes.
type DataSpec struct {
	Rows int64
	Keys int64   // number of stores
	Skew float64 // fraction of rows on store 0
	Seed uint64
}

// DefaultPath is where a data set of spec is kept between runs.
func (d DataSpec) DefaultPath() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("gorun-groupby-%d-%d-%g-%d.csv", d.Rows, d.Keys, d.Skew, d.Seed))
}

// Generate writes the data set to path (through a temporary file and a
// rename, so a reader never sees half a file). It does nothing if path
// exists.
func Generate(d DataSpec, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".groupby-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString("order_id,store,region,quantity,amount\n")
	rng := rand.New(rand.NewPCG(d.Seed, 0x67726f7570))
	line := make([]byte, 0, 64)
	for i := range d.Rows {
		store := rng.Int64N(d.Keys)
		if rng.Float64() < d.Skew {
			store = 0
		}
		qty := 1 + rng.Int64N(9)
		cents := 100 + rng.Int64N(99_900)
		line = strconv.AppendInt(line[:0], i, 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, store, 10)
		line = append(line, ',')
		line = append(line, regions[store%int64(len(regions))]...)
		line = append(line, ',')
		line = strconv.AppendInt(line, qty, 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, cents/100, 10)
		line = append(line, '.', byte('0'+cents/10%10), byte('0'+cents%10), '\n')
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Rows holds parsed rows column by column.
type Rows struct {
	Store, Qty, Cents []int64
}

// ReadRange parses the rows of the CSV file whose first byte lies in
// [lo, hi): a line that straddles lo belongs to the previous range, one that
// straddles hi to this one. The header (the line at offset 0) is skipped.
func ReadRange(path string, lo, hi int64) (Rows, error) {
	// Preallocate for lines of about 24 bytes (the generator's average is
	// about 26), so the columns rarely grow and copy.
	guess := max((hi-lo)/24, 16)
	rows := Rows{make([]int64, 0, guess), make([]int64, 0, guess), make([]int64, 0, guess)}
	f, err := os.Open(path)
	if err != nil {
		return rows, err
	}
	defer f.Close()
	pos := lo
	if lo > 0 {
		pos = lo - 1 // finish the line holding byte lo-1: it is not ours
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		return rows, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	first := true
	for pos < hi || (first && lo > 0) {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return rows, fmt.Errorf("groupby: line longer than 1 MiB at offset %d", pos)
		}
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				break
			}
			return rows, err
		}
		start := pos
		pos += int64(len(line))
		if first {
			first = false
			if lo > 0 || start == 0 { // the tail of the previous range, or the header
				if err == io.EOF {
					break
				}
				continue
			}
		}
		for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
			line = line[:len(line)-1]
		}
		store, qty, cents, perr := parseLine(line)
		if perr != nil {
			return rows, fmt.Errorf("groupby: offset %d: %v", start, perr)
		}
		rows.Store = append(rows.Store, store)
		rows.Qty = append(rows.Qty, qty)
		rows.Cents = append(rows.Cents, cents)
		if err == io.EOF {
			break
		}
	}
	return rows, nil
}

// parseLine parses "order_id,store,region,quantity,amount" without
// allocating; amount has exactly two decimals.
func parseLine(b []byte) (store, qty, cents int64, err error) {
	var field [5][]byte
	n := 0
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == ',' {
			if n == 5 {
				return 0, 0, 0, fmt.Errorf("more than 5 fields: %q", b)
			}
			field[n] = b[start:i]
			n++
			start = i + 1
		}
	}
	if n != 5 {
		return 0, 0, 0, fmt.Errorf("%d fields, want 5: %q", n, b)
	}
	var ok1, ok2, ok3 bool
	store, ok1 = atoi(field[1])
	qty, ok2 = atoi(field[3])
	a := field[4]
	if len(a) >= 4 && a[len(a)-3] == '.' {
		var whole, frac int64
		whole, ok3 = atoi(a[:len(a)-3])
		f, okf := atoi(a[len(a)-2:])
		frac, ok3 = f, ok3 && okf
		cents = whole*100 + frac
	}
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, fmt.Errorf("bad number in %q", b)
	}
	return store, qty, cents, nil
}

func atoi(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}
