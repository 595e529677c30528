package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
)

// table is a CSV file with a header row, read whole.
type table struct {
	name string
	col  map[string]int
	rows [][]string
}

// readTable reads path and checks that every column in need is present.
func readTable(path string, need ...string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTable(path, f, need...)
}

// parseTable reads a CSV table named path from r: a header row, then rows
// of as many fields; every column in need must be present.
func parseTable(path string, r io.Reader, need ...string) (*table, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: no data", path)
	}
	t := &table{name: path, col: map[string]int{}, rows: recs[1:]}
	for i, name := range recs[0] {
		t.col[name] = i
	}
	for _, c := range need {
		if _, ok := t.col[c]; !ok {
			return nil, fmt.Errorf("%s: no column %q", path, c)
		}
	}
	return t, nil
}

// str returns column c of row i.
func (t *table) str(i int, c string) string { return t.rows[i][t.col[c]] }

// num returns column c of row i as a number.
func (t *table) num(i int, c string) (float64, error) {
	v, err := strconv.ParseFloat(t.str(i, c), 64)
	if err != nil {
		return 0, fmt.Errorf("%s:%d: column %s: %v", t.name, i+2, c, err)
	}
	return v, nil
}

// nums returns columns cols of row i as numbers.
func (t *table) nums(i int, cols ...string) ([]float64, error) {
	out := make([]float64, len(cols))
	for j, c := range cols {
		v, err := t.num(i, c)
		if err != nil {
			return nil, err
		}
		out[j] = v
	}
	return out, nil
}
