#!/usr/bin/env python3
"""Wall time of examples/parmap and examples/groupby under gorun against
their Python multiprocessing twins (parmap.py, groupby.py), on this machine,
in one run.

Each program is started REPS times, the four programs interleaved so that a
change in the machine's load touches all of them; the wall time of a run is
measured from outside (process start-up and, for gorun, launching the ranks
included). Prints the medians and the ratio Python / Go.

    python3 scripts/python/compare.py                 (np 2, 5 repetitions)
    python3 scripts/python/compare.py --np 2 --reps 7 --rows 2000000

The Go programs are built once (go build) before timing; the groupby data set
is written once by the Go example and read by both. Both sides check their
results: parmap against closed forms, groupby by comparing the totals that
the Go and the Python versions print.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, timeout=600):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}")
    return elapsed, p.stdout


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--np", type=int, default=os.cpu_count(), help="ranks (Go) and processes (Python)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the groupby data set")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="gorun-compare-")
    gorun, parmap, groupby = (os.path.join(tmp, n) for n in ("gorun", "parmap", "groupby"))
    for out, pkg in ((gorun, "./cmd/gorun"), (parmap, "./examples/parmap"), (groupby, "./examples/groupby")):
        subprocess.run(["go", "build", "-o", out, pkg], cwd=ROOT, check=True)
    data = os.path.join(tempfile.gettempdir(), f"gorun-compare-groupby-{a.rows}.csv")
    # Write the data set (and check the Go result against a serial pass once).
    _, out = run([gorun, "-np", str(a.np), groupby, "-rows", str(a.rows), "-file", data])
    if "OK groupby" not in out:
        sys.exit("FAILED: groupby check\n" + out)

    np_ = str(a.np)
    progs = {
        ("parmap", "go"): [gorun, "-np", np_, parmap],
        ("parmap", "python"): [sys.executable, os.path.join(HERE, "parmap.py"), "--procs", np_],
        ("groupby", "go"): [gorun, "-np", np_, groupby, "-rows", str(a.rows), "-file", data, "-check=false"],
        ("groupby", "python"): [sys.executable, os.path.join(HERE, "groupby.py"), data, "--procs", np_],
    }
    times = {k: [] for k in progs}
    print(f"# {os.cpu_count()} CPUs, np = processes = {a.np}, {a.reps} repetitions; load average before: {loadavg()}")
    for rep in range(a.reps):
        results = {}
        for key, cmd in progs.items():
            t, out = run(cmd)
            times[key].append(t)
            if key[0] == "parmap" and out.count("OK ") != 2:
                sys.exit(f"FAILED: {key} did not pass its checks\n{out}")
            if key[0] == "groupby":
                m = re.search(r"result: .*", out)
                if not m:
                    sys.exit(f"FAILED: {key} printed no result\n{out}")
                results[key[1]] = m.group(0)
        if results["go"] != results["python"]:
            sys.exit(f"FAILED: groupby results differ: go {results['go']!r}, python {results['python']!r}")
        print(f"# rep {rep+1}: " + ", ".join(f"{k[0]}/{k[1]} {v[-1]*1e3:.0f} ms" for k, v in times.items()))
    print(f"# load average after: {loadavg()}")
    print(f"{'job':8} {'Go (gorun) median':>18} {'Python median':>14} {'Python / Go':>12}")
    for job in ("parmap", "groupby"):
        g = statistics.median(times[(job, "go")])
        p = statistics.median(times[(job, "python")])
        print(f"{job:8} {g*1e3:15.0f} ms {p*1e3:11.0f} ms {p/g:11.1f}x")
    print(f"groupby results agree: {results['go']}")


if __name__ == "__main__":
    main()
