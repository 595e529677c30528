#!/usr/bin/env python3
"""The Python twin of examples/parmap: the two classic Pool.map jobs.

  - sum two ranges of integers (0..99,999 and 100,000..199,999) in parallel
    and print the total;
  - apply x*x + 2x + 1 to each of 1,000,000 integers with Pool.map (results
    in the original order).

Both are checked exactly, like the Go version; exit status 1 on a failed
check.

    python3 scripts/python/parmap.py --procs 2
"""
import argparse
import multiprocessing as mp
import sys
import time


def f(x):
    return x * x + 2 * x + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=mp.cpu_count(), help="worker processes")
    ap.add_argument("--sum-n", type=int, default=100_000, help="length of each summed range")
    ap.add_argument("-n", type=int, default=1_000_000, help="integers the map job transforms")
    a = ap.parse_args()
    ok = True
    with mp.Pool(a.procs) as pool:
        t = time.perf_counter()
        n = a.sum_n
        sums = pool.map(sum, [range(0, n), range(n, 2 * n)])
        total = sum(sums)
        want = (2 * n - 1) * 2 * n // 2
        print(f"sum: range(0, {n}) = {sums[0]}, range({n}, {2*n}) = {sums[1]}")
        print(f"sum: total = {total}  ({a.procs} processes, {1e3*(time.perf_counter()-t):.3f} ms)")
        if total != want:
            print(f"FAILED sum: want {want}")
            ok = False
        else:
            print(f"OK sum: total {total} equals the closed form")

        t = time.perf_counter()
        ys = pool.map(f, range(a.n))
        elapsed = time.perf_counter() - t
        bad = next((i for i, y in enumerate(ys) if y != (i + 1) * (i + 1)), None)
        s = sum(ys)
        want = a.n * (a.n + 1) * (2 * a.n + 1) // 6
        print(f"map: f(x) = x*x + 2x + 1 over {a.n} integers: f(0..2) = {ys[:3]} … "
              f"f({a.n-1}) = {ys[-1]}, sum {s}  ({a.procs} processes, {1e3*elapsed:.3f} ms)")
        if bad is not None or s != want:
            print(f"FAILED map: first wrong index {bad}, sum {s} want {want}")
            ok = False
        else:
            print(f"OK map: all {a.n} results in order and exact")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
