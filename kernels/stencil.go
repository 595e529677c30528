package kernels

// Stencil5 applies a 2-D 5-point stencil to an nx×ny grid stored row-major
// (element (i, j) at index j*nx+i, i the fast index):
//
//	dst(i,j) = c0*src(i,j) + c1*(src(i-1,j) + src(i+1,j) + src(i,j-1) + src(i,j+1))
//
// for every interior point 1 ≤ i < nx-1, 1 ≤ j < ny-1. Boundary points of
// dst are not written. Rows are split statically over the workers. dst and
// src must both have length nx*ny and must not overlap.
func Stencil5(p *Pool, dst, src []float64, nx, ny int, c0, c1 float64) {
	if nx < 0 || ny < 0 {
		panic("kernels: negative grid size")
	}
	checkLen(len(dst), nx*ny)
	checkLen(len(src), nx*ny)
	if nx < 3 || ny < 3 {
		return
	}
	rows := ny - 2
	run := func(lo, hi, _ int) {
		for j := lo + 1; j < hi+1; j++ {
			up := src[(j-1)*nx : j*nx]
			mid := src[j*nx : (j+1)*nx]
			dn := src[(j+1)*nx : (j+2)*nx]
			out := dst[j*nx : (j+1)*nx]
			stencilRow5(out, up, mid, dn, c0, c1)
		}
	}
	if p == nil || rows*nx < 2*p.minGrain {
		run(0, rows, 0)
		return
	}
	p.ParallelFor(rows, Schedule{}, run)
}

func stencilRow5(out, up, mid, dn []float64, c0, c1 float64) {
	n := len(mid)
	out, up, dn = out[:n], up[:n], dn[:n]
	for i := 1; i < n-1; i++ {
		out[i] = c0*mid[i] + c1*(mid[i-1]+mid[i+1]+up[i]+dn[i])
	}
}

// Stencil7 applies a 3-D 7-point stencil to an nx×ny×nz grid stored with x
// fastest (element (i, j, k) at index (k*ny+j)*nx+i):
//
//	dst = c0*src(i,j,k) + c1*(sum of the six face neighbours)
//
// for every interior point; boundary points of dst are not written. The
// (ny-2)·(nz-2) interior rows are split statically over the workers. dst and
// src must have length nx*ny*nz and must not overlap.
func Stencil7(p *Pool, dst, src []float64, nx, ny, nz int, c0, c1 float64) {
	if nx < 0 || ny < 0 || nz < 0 {
		panic("kernels: negative grid size")
	}
	checkLen(len(dst), nx*ny*nz)
	checkLen(len(src), nx*ny*nz)
	if nx < 3 || ny < 3 || nz < 3 {
		return
	}
	plane := nx * ny
	rowsPerPlane := ny - 2
	rows := rowsPerPlane * (nz - 2)
	run := func(lo, hi, _ int) {
		for r := lo; r < hi; r++ {
			k := r/rowsPerPlane + 1
			j := r%rowsPerPlane + 1
			o := k*plane + j*nx
			out := dst[o : o+nx]
			mid := src[o : o+nx]
			n, s := src[o-nx:o], src[o+nx:o+2*nx]
			b, f := src[o-plane:o-plane+nx], src[o+plane:o+plane+nx]
			stencilRow7(out, mid, n, s, b, f, c0, c1)
		}
	}
	if p == nil || rows*nx < 2*p.minGrain {
		run(0, rows, 0)
		return
	}
	p.ParallelFor(rows, Schedule{}, run)
}

func stencilRow7(out, mid, n, s, b, f []float64, c0, c1 float64) {
	m := len(mid)
	out, n, s, b, f = out[:m], n[:m], s[:m], b[:m], f[:m]
	for i := 1; i < m-1; i++ {
		out[i] = c0*mid[i] + c1*((mid[i-1]+mid[i+1])+(n[i]+s[i])+(b[i]+f[i]))
	}
}
