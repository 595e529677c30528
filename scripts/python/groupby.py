#!/usr/bin/env python3
"""The Python twin of examples/groupby (mode combine): total sales, units and
revenue per store over the CSV file that the Go example writes.

Each worker process reads its own byte range of the file (a line belongs to
the range holding its first byte), aggregates its rows into a dict (the
map-side combine), and returns the dict; the parent merges the dicts. That is
how one would write it with multiprocessing: the parent is the reducer, so no
shuffle is needed for a result this small.

    python3 scripts/python/groupby.py /tmp/gorun-groupby-1000000-1000-0-1.csv --procs 2
    python3 scripts/python/groupby.py FILE --check     (also compares with a serial pass)
"""
import argparse
import multiprocessing as mp
import os
import sys
import time


def read_range(path, lo, hi):
    """Aggregate the rows whose first byte lies in [lo, hi)."""
    agg = {}
    with open(path, "rb") as f:
        pos = lo
        if lo > 0:
            f.seek(lo - 1)
            pos = lo - 1 + len(f.readline())  # finish the line holding byte lo-1
        else:
            pos = len(f.readline())  # the header
        while pos < hi:
            line = f.readline()
            if not line:
                break
            pos += len(line)
            _, store, _, qty, amount = line.split(b",")
            a = agg.get(store)
            cents = int(amount.replace(b".", b""))
            if a is None:
                agg[store] = [1, int(qty), cents]
            else:
                a[0] += 1
                a[1] += int(qty)
                a[2] += cents
    return agg


def work(args):
    return read_range(*args)


def merge(into, part):
    for k, v in part.items():
        a = into.get(k)
        if a is None:
            into[k] = list(v)
        else:
            a[0] += v[0]
            a[1] += v[1]
            a[2] += v[2]
    return into


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--procs", type=int, default=mp.cpu_count())
    ap.add_argument("--check", action="store_true", help="compare with a serial pass")
    a = ap.parse_args()
    size = os.path.getsize(a.file)
    t = time.perf_counter()
    ranges = [(a.file, size * r // a.procs, size * (r + 1) // a.procs) for r in range(a.procs)]
    with mp.Pool(a.procs) as pool:
        parts = pool.map(work, ranges)
    table = {}
    for p in parts:
        merge(table, p)
    elapsed = time.perf_counter() - t
    sales = sum(v[0] for v in table.values())
    revenue = sum(v[2] for v in table.values())
    print(f"groupby: {a.file} ({size/1e6:.1f} MB) on {a.procs} processes: {1e3*elapsed:.1f} ms")
    print(f"combine  result: {len(table)} stores, {sales} sales, revenue ${revenue//100}.{revenue%100:02d}")
    if a.check:
        serial = read_range(a.file, 0, size)
        if serial != table:
            print("FAILED groupby: differs from the serial pass")
            return 1
        print(f"OK groupby: {len(serial)} stores, every aggregate equals the serial computation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
