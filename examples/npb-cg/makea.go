package main

import (
	"fmt"
	"math"

	"github.com/gorun-hpc/gorun/examples/internal/npb"
)

// gen is the state of CG's random stream (cg.f's tran and amult).
type gen struct{ tran float64 }

func (g *gen) next() float64 { return npb.Randlc(&g.tran, npb.A) }

// block is the part of the matrix one rank owns, in local CSR form: rows
// firstrow..lastrow and columns firstcol..lastcol (0-based, inclusive),
// column indices relative to firstcol.
type block struct {
	firstrow, lastrow, firstcol, lastcol int
	rowstr                               []int32
	colidx                               []int32
	a                                    []float64
}

// sprnvc draws a sparse random vector with nz distinct positions in 1..n
// (cg.f's sprnvc): for each candidate it draws the value and then the
// position, rejecting positions beyond n and repeats. v and iv receive the
// values and 1-based positions; mark must be all false and is left so.
func (g *gen) sprnvc(n, nz, nn1 int, v []float64, iv []int, mark []bool) int {
	nzv := 0
	for nzv < nz {
		vecelt := g.next()
		vecloc := g.next()
		i := int(float64(nn1)*vecloc) + 1
		if i > n || mark[i] {
			continue
		}
		mark[i] = true
		v[nzv] = vecelt
		iv[nzv] = i
		nzv++
	}
	for k := range nzv {
		mark[iv[k]] = false
	}
	return nzv
}

// vecset sets element i of the sparse vector to val, appending it if it
// is absent (cg.f's vecset). It returns the new number of entries.
func vecset(v []float64, iv []int, nzv, i int, val float64) int {
	set := false
	for k := range nzv {
		if iv[k] == i {
			v[k] = val
			set = true
		}
	}
	if !set {
		v[nzv] = val
		iv[nzv] = i
		nzv++
	}
	return nzv
}

// makea generates the rank's block of NPB's CG matrix (cg.f's makea and
// sparse). Every rank replays the whole random stream and keeps only the
// entries of its block. Rows and columns in the arguments are 1-based, as
// in the reference.
func makea(g *gen, n, nonzer int, rcond, shift float64, firstrow, lastrow, firstcol, lastcol int) (*block, error) {
	nn1 := 1
	for {
		nn1 *= 2
		if nn1 >= n {
			break
		}
	}
	v := make([]float64, nonzer+1)
	iv := make([]int, nonzer+1)
	mark := make([]bool, n+1)

	nrows := lastrow - firstrow + 1
	est := nrows * (nonzer + 1) * (nonzer + 1) * (lastcol - firstcol + 1) / n
	arow := make([]int32, 0, est+est/4+nrows)
	acol := make([]int32, 0, cap(arow))
	aelt := make([]float64, 0, cap(arow))

	size := 1.0
	ratio := math.Pow(rcond, 1/float64(n))
	for iouter := 1; iouter <= n; iouter++ {
		nzv := g.sprnvc(n, nonzer, nn1, v, iv, mark)
		nzv = vecset(v, iv, nzv, iouter, 0.5)
		for ivelt := range nzv {
			jcol := iv[ivelt]
			if jcol < firstcol || jcol > lastcol {
				continue
			}
			scale := size * v[ivelt]
			for ivelt1 := range nzv {
				irow := iv[ivelt1]
				if irow < firstrow || irow > lastrow {
					continue
				}
				arow = append(arow, int32(irow))
				acol = append(acol, int32(jcol))
				aelt = append(aelt, v[ivelt1]*scale)
			}
		}
		size *= ratio
	}
	for i := firstrow; i <= lastrow; i++ {
		if i >= firstcol && i <= lastcol {
			arow = append(arow, int32(i))
			acol = append(acol, int32(i))
			aelt = append(aelt, rcond-shift)
		}
	}
	b := sparse(n, arow, acol, aelt, firstrow, lastrow)
	if b == nil {
		return nil, fmt.Errorf("cg: matrix generation failed")
	}
	b.firstrow, b.lastrow, b.firstcol, b.lastcol = firstrow-1, lastrow-1, firstcol-1, lastcol-1
	// Columns relative to the block (cg.f does the same after makea).
	for k := range b.colidx {
		b.colidx[k] -= int32(firstcol)
	}
	return b, nil
}

// sparse turns the triplets into CSR (cg.f's sparse): a stable bucket sort
// by row, then per row the duplicates are summed through a dense scatter
// array, the columns kept in the order they first became non-zero, and
// entries summing to exactly zero dropped. Column indices stay 1-based.
func sparse(n int, arow, acol []int32, aelt []float64, firstrow, lastrow int) *block {
	nrows := lastrow - firstrow + 1
	nnza := len(arow)
	rowstr := make([]int32, nrows+1)
	for _, r := range arow {
		rowstr[int(r)-firstrow+1]++
	}
	// rowstr[j] = start of row j (0-based offsets).
	for j := 1; j <= nrows; j++ {
		rowstr[j] += rowstr[j-1]
	}
	a := make([]float64, nnza)
	colidx := make([]int32, nnza)
	pos := make([]int32, nrows)
	copy(pos, rowstr[:nrows])
	for k := range nnza {
		j := int(arow[k]) - firstrow
		p := pos[j]
		a[p] = aelt[k]
		colidx[p] = acol[k]
		pos[j]++
	}
	x := make([]float64, n+1)
	mark := make([]bool, n+1)
	nzloc := make([]int32, 0, n)
	nza := int32(0)
	start := rowstr[0]
	for j := range nrows {
		end := rowstr[j+1]
		nzloc = nzloc[:0]
		for k := start; k < end; k++ {
			i := colidx[k]
			x[i] += a[k]
			if !mark[i] && x[i] != 0 {
				mark[i] = true
				nzloc = append(nzloc, i)
			}
		}
		for _, i := range nzloc {
			mark[i] = false
			xi := x[i]
			x[i] = 0
			if xi != 0 {
				a[nza] = xi
				colidx[nza] = i
				nza++
			}
		}
		start = end
		rowstr[j+1] = nza
	}
	return &block{rowstr: rowstr, colidx: colidx[:nza:nza], a: a[:nza:nza]}
}
