#!/usr/bin/python3
"""The Python peers of bench/parallel: the same three workloads with
multiprocessing, concurrent.futures, mpi4py.futures, Dask and pandas.
scripts/bench-parallel.sh runs them alternately with the Go program; each
prints lines in the Go program's format:

    RESULT workload=map peer=pool np=2 seconds=0.41 items=1000000 rate=2.4e+06

Workloads (the Go side's, element for element):

    pool-map      multiprocessing.Pool(np).map(f, xs, chunksize)      f(x) = x*x + 2*x + 1, xs = 10^6 ints
    mpi-map       MPIPoolExecutor().map(f, xs, chunksize)             under mpiexec -n np python3 -m mpi4py.futures
    ppe-tasks     ProcessPoolExecutor(np).map(tiny, range(T))        tiny(x) = x*x + 1, chunksize 1
    mpi-tasks     MPIPoolExecutor().map(tiny, range(T))              chunksize 1; under mpiexec as above
    ppe-latency   ProcessPoolExecutor(np).submit(tiny, i).result()   one round trip, median of --reps
    mpi-latency   MPIPoolExecutor().submit(tiny, i).result()
    dask-groupby  dd.from_pandas(df, npartitions=np) persisted on a LocalCluster of np
                  single-threaded worker processes, then groupby("year").age.mean().compute()
                  on a fresh graph each repetition (no result kept from an earlier one)
    pandas-groupby  df.groupby("year").age.mean() in this process (one core)

Under mpiexec -n np with -m mpi4py.futures, rank 0 runs this script and the
other np-1 ranks serve, as gorun's executor has np-1 workers; Pool and
ProcessPoolExecutor get np worker processes. The group-by table (year,
age; --rows rows; a fraction --skew of them in 1996) is the Go side's,
row for row (see table), generated before timing; both sides time the
group-by alone, after one untimed warm-up, print the mean of 1996 (the
same on both), and check every result.
"""
import argparse
import statistics
import sys
import time


def f(x):
    return x * x + 2 * x + 1


def tiny(x):
    return x * x + 1


def result(workload, peer, np_, seconds, items, extra=""):
    print(f"RESULT workload={workload} peer={peer} np={np_} seconds={seconds:.6g} items={items} rate={items / seconds:.4g}{extra}",
          flush=True)


def check_map(ys, n):
    if len(ys) != n or any(y != (i + 1) * (i + 1) for i, y in enumerate(ys)):
        sys.exit("map: wrong results")


def pool_map(a):
    import multiprocessing as mp
    xs = list(range(a.n))
    with mp.Pool(a.np) as pool:
        pool.map(f, range(a.np * 4), 1)  # start the workers
        for _ in range(a.reps):
            t = time.perf_counter()
            ys = pool.map(f, xs, a.chunk)
            el = time.perf_counter() - t
            check_map(ys, a.n)
            result("map", "pool", a.np, el, a.n)


def mpi_size():
    from mpi4py import MPI
    return MPI.COMM_WORLD.Get_size()


def mpi_map(a):
    from mpi4py.futures import MPIPoolExecutor
    xs = list(range(a.n))
    with MPIPoolExecutor() as ex:
        list(ex.map(f, range(64)))
        for _ in range(a.reps):
            t = time.perf_counter()
            ys = list(ex.map(f, xs, chunksize=a.chunk))
            el = time.perf_counter() - t
            check_map(ys, a.n)
            result("map", "mpi4py", mpi_size(), el, a.n)


def tasks(a, ex, peer, np_):
    list(ex.map(tiny, range(64)))
    for _ in range(a.reps):
        t = time.perf_counter()
        out = list(ex.map(tiny, range(a.tasks)))
        el = time.perf_counter() - t
        if out != [tiny(i) for i in range(a.tasks)]:
            sys.exit("tasks: wrong results")
        result("tasks", peer, np_, el, a.tasks)


def latency(a, ex, peer, np_):
    times = []
    for i in range(a.reps + 100):
        t = time.perf_counter()
        v = ex.submit(tiny, i).result()
        el = time.perf_counter() - t
        if v != tiny(i):
            sys.exit("latency: wrong result")
        if i >= 100:
            times.append(el)
    times.sort()
    med = times[len(times) // 2]
    result("latency", peer, np_, med, 1, f" p99={times[len(times) * 99 // 100]:.6g}")


def ppe(a, what):
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(a.np) as ex:
        (tasks if what == "tasks" else latency)(a, ex, "ppe", a.np)


def mpi(a, what):
    from mpi4py.futures import MPIPoolExecutor
    with MPIPoolExecutor() as ex:
        (tasks if what == "tasks" else latency)(a, ex, "mpi4py", mpi_size())


def splitmix64(x):
    import numpy as np
    z = x + np.uint64(0x9e3779b97f4a7c15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
    return z ^ (z >> np.uint64(31))


def table(a):
    """The Go side's table, row for row: h = splitmix64(i), year
    1896 + 4*(h mod 31), or 1996 when bits 32..47 of h fall below
    skew*65536, age 14 + (h >> 48) mod 50."""
    import numpy as np
    import pandas as pd
    with np.errstate(over="ignore"):
        h = splitmix64(np.arange(a.rows, dtype=np.uint64))
    year = (1896 + 4 * (h % np.uint64(31))).astype(np.int32)
    year[((h >> np.uint64(32)) & np.uint64(0xffff)) < np.uint64(int(a.skew * 65536))] = 1996
    age = (14 + (h >> np.uint64(48)) % np.uint64(50)).astype(np.int32)
    return pd.DataFrame({"year": year, "age": age})


def check_means(got, df):
    want = df.groupby("year").age.mean()
    if len(got) != len(want) or (abs(got.sort_index() - want.sort_index()) > 1e-9 * want.sort_index()).any():
        sys.exit("groupby: wrong means")


def pandas_groupby(a):
    df = table(a)
    df.groupby("year").age.mean()  # warm up, as the Go side does
    for _ in range(a.reps):
        t = time.perf_counter()
        m = df.groupby("year").age.mean()
        el = time.perf_counter() - t
        check_means(m, df)
        result("groupby", "pandas", 1, el, a.rows, f" mean1996={m[1996]:.12g}")


def dask_groupby(a):
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait
    df = table(a)
    with LocalCluster(n_workers=a.np, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        ddf = dd.from_pandas(df, npartitions=a.np).persist()
        wait(ddf)
        for rep in range(a.reps + 1):  # one untimed warm-up, as the Go side does
            t = time.perf_counter()
            # A fresh graph every time: an identity step named for the
            # repetition gives every task a new key, so the scheduler cannot
            # hand back the result of an earlier, identical graph that it
            # has not yet released (the same keys would).
            fresh = ddf.map_partitions(lambda d: d, token=f"rep{rep}-{time.time_ns()}")
            m = fresh.groupby("year").age.mean().compute()
            el = time.perf_counter() - t
            if rep == 0:
                continue
            check_means(m, df)
            result("groupby", "dask", a.np, el, a.rows, f" mean1996={m[1996]:.12g}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["pool-map", "mpi-map", "ppe-tasks", "mpi-tasks", "ppe-latency", "mpi-latency",
                                    "dask-groupby", "pandas-groupby"])
    p.add_argument("--np", type=int, default=2, help="worker processes (Pool, ProcessPoolExecutor, Dask)")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--chunk", type=int, default=10_000)
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--skew", type=float, default=0.3)
    p.add_argument("--reps", type=int, default=1)
    a = p.parse_args()
    {"pool-map": pool_map, "mpi-map": mpi_map,
     "ppe-tasks": lambda a: ppe(a, "tasks"), "ppe-latency": lambda a: ppe(a, "latency"),
     "mpi-tasks": lambda a: mpi(a, "tasks"), "mpi-latency": lambda a: mpi(a, "latency"),
     "dask-groupby": dask_groupby, "pandas-groupby": pandas_groupby}[a.what](a)


if __name__ == "__main__":
    main()
