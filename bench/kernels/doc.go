// Command kernels benchmarks gorun's pinned kernels on this machine:
// STREAM-style triad bandwidth (GB/s) and dense matrix multiply (GFLOP/s)
// for 1..ncpu workers with pinning on and off, printed as scaling tables
// (speedup and parallel efficiency against one worker), and written to
// -out/kernels.csv, which bench/plot draws (PNG and SVG).
//
// When gcc is on PATH it also builds cref/stream_triad.c (embedded) with
// gcc -O3 -fopenmp -march=native, runs it with the same array length on all
// allowed CPUs, and prints its triad rate and the ratio of the Go rate to it.
// The GEMM table is compared with gonum's blas64.Gemm run single-threaded
// (GOMAXPROCS=1).
//
// Every figure is the median over -runs runs; within a run the triad takes
// the best of -reps repetitions (as STREAM does) and GEMM times one multiply.
//
//	go run ./bench/kernels -n 20000000 -gemm 1024 -runs 5 -out /tmp/kbench
//	go -C bench/plot run . kernels -in /tmp/kbench/kernels.csv -out /tmp/kbench
package main
