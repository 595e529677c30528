/* Collective latency under MPI with the method of bench/coll, so that gorun
 * and Open MPI are measured the same way: for each size (one rank's
 * message, as in bench/coll), a barrier, a warm-up (10 calls, 2 from
 * 64 KiB), an iteration count that every rank agrees on from the slowest
 * rank's warm-up (aiming at -budget seconds, bounded by -min-iters and
 * -iters), a barrier, the timed calls back to back, and the average time
 * per call in µs, the maximum over ranks. float32 elements, sum.
 * The output has the layout of bench/coll with one column ("auto": MPI's
 * own choice). Built and run by scripts/compare-openmpi-coll.sh.
 *
 *   osu_coll [-coll allreduce,bcast|all] [-min 4] [-max 4M] [-sizes 8,64K,1M]
 *            [-budget 0.03] [-iters 1000] [-min-iters 3] [-warmup 0.1] [-osu 1]
 *            [-timeline 1]
 *
 * -osu 1 uses OSU's own method instead (as bench/coll -osu): each call
 * timed on its own with an untimed barrier after it, and the average over
 * ranks of each rank's mean: one call's latency rather than the rate of
 * back-to-back calls. -timeline 1 (with -osu 1, one host only) also prints
 * what bench/coll -timeline prints: when each rank entered and left the
 * call relative to rank 0's entry, and when the last rank left (medians
 * over calls, CLOCK_MONOTONIC, to standard error).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *all_colls[] = {
    "allgather", "allgatherv", "allreduce", "alltoall", "alltoallv",
    "barrier", "bcast", "exscan", "gather", "gatherv", "reduce",
    "reducescatter", "scan", "scatter", "scatterv", NULL};

static int rank, np;
static int osu_mode; /* -osu 1: OSU's method, see timed_osu */
static int timeline; /* -timeline 1: see print_timeline */
static float *sbuf, *rbuf;
static int *counts, *displs;

static long parse_size(const char *s) {
    char *end;
    long n = strtol(s, &end, 10);
    if (*end == 'K') n <<= 10;
    if (*end == 'M') n <<= 20;
    return n;
}

static void fill(float *b, long n) {
    for (long i = 0; i < n; i++) b[i] = (float)(rank + i % 7);
}

/* one call of collective c with n floats per message */
static void call(const char *c, int n) {
    MPI_Comm w = MPI_COMM_WORLD;
    if (!strcmp(c, "barrier")) MPI_Barrier(w);
    else if (!strcmp(c, "bcast")) MPI_Bcast(sbuf, n, MPI_FLOAT, 0, w);
    else if (!strcmp(c, "reduce")) MPI_Reduce(sbuf, rbuf, n, MPI_FLOAT, MPI_SUM, 0, w);
    else if (!strcmp(c, "allreduce")) MPI_Allreduce(sbuf, rbuf, n, MPI_FLOAT, MPI_SUM, w);
    else if (!strcmp(c, "scan")) MPI_Scan(sbuf, rbuf, n, MPI_FLOAT, MPI_SUM, w);
    else if (!strcmp(c, "exscan")) MPI_Exscan(sbuf, rbuf, n, MPI_FLOAT, MPI_SUM, w);
    else if (!strcmp(c, "gather")) MPI_Gather(sbuf, n, MPI_FLOAT, rbuf, n, MPI_FLOAT, 0, w);
    else if (!strcmp(c, "gatherv")) MPI_Gatherv(sbuf, n, MPI_FLOAT, rbuf, counts, displs, MPI_FLOAT, 0, w);
    else if (!strcmp(c, "scatter")) MPI_Scatter(sbuf, n, MPI_FLOAT, rbuf, n, MPI_FLOAT, 0, w);
    else if (!strcmp(c, "scatterv")) MPI_Scatterv(sbuf, counts, displs, MPI_FLOAT, rbuf, n, MPI_FLOAT, 0, w);
    else if (!strcmp(c, "allgather")) MPI_Allgather(sbuf, n, MPI_FLOAT, rbuf, n, MPI_FLOAT, w);
    else if (!strcmp(c, "allgatherv")) MPI_Allgatherv(sbuf, n, MPI_FLOAT, rbuf, counts, displs, MPI_FLOAT, w);
    else if (!strcmp(c, "alltoall")) MPI_Alltoall(sbuf, n, MPI_FLOAT, rbuf, n, MPI_FLOAT, w);
    else if (!strcmp(c, "alltoallv")) MPI_Alltoallv(sbuf, counts, displs, MPI_FLOAT, rbuf, counts, displs, MPI_FLOAT, w);
    else if (!strcmp(c, "reducescatter")) MPI_Reduce_scatter_block(sbuf, rbuf, n, MPI_FLOAT, MPI_SUM, w);
}

static double monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the median over n calls of f(all, k, i), in µs */
static double median_us(const double *all, int n, int k, double (*f)(const double *, int, int, int), double *tmp) {
    for (int i = 0; i < n; i++) tmp[i] = f(all, n, k, i);
    qsort(tmp, n, sizeof(double), cmp_double);
    return tmp[n / 2] / 1e3;
}

/* stamps: rank r's entry and exit of call i are all[r*2n + 2i] and +1 */
static double entered(const double *all, int n, int r, int i) { return all[r * 2 * n + 2 * i] - all[2 * i]; }
static double left(const double *all, int n, int r, int i) { return all[r * 2 * n + 2 * i + 1] - all[2 * i]; }
static double last_left(const double *all, int n, int unused, int i) {
    double m = left(all, n, 0, i);
    for (int r = 1; r < np; r++) if (left(all, n, r, i) > m) m = left(all, n, r, i);
    (void)unused;
    return m;
}
static double last_left_after_last_entry(const double *all, int n, int unused, int i) {
    double e = entered(all, n, 0, i);
    for (int r = 1; r < np; r++) if (entered(all, n, r, i) > e) e = entered(all, n, r, i);
    return last_left(all, n, unused, i) - e;
}

/* rank 0's entry into call i+1 after its entry into call i: one call and
 * the barrier after it */
static double cycle(const double *all, int n, int unused, int i) {
    (void)n;
    (void)unused;
    return all[2 * (i + 1)] - all[2 * i];
}

/* as bench/coll's printTimeline */
static void print_timeline(const double *stamps, int n, const char *c, long size) {
    double *all = rank == 0 ? malloc(sizeof(double) * 2 * n * np) : NULL, *tmp = malloc(sizeof(double) * n);
    if (!tmp || (rank == 0 && !all)) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Gather(stamps, 2 * n, MPI_DOUBLE, all, 2 * n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        fprintf(stderr, "timeline %s %ld (µs after rank 0 entered, medians of %d calls): entered/left", c, size, n);
        for (int r = 0; r < np; r++)
            fprintf(stderr, " r%d %.2f/%.2f", r, median_us(all, n, r, entered, tmp), median_us(all, n, r, left, tmp));
        fprintf(stderr, "; last rank left %.2f after rank 0 entered, %.2f after the last rank entered",
                median_us(all, n, 0, last_left, tmp), median_us(all, n, 0, last_left_after_last_entry, tmp));
        fprintf(stderr, "; call and barrier %.2f\n", n > 1 ? median_us(all, n - 1, 0, cycle, tmp) : 0.0);
    }
    free(all);
    free(tmp);
}

/* OSU's method: iters calls timed one by one, an untimed barrier after
 * each; the average over ranks of each rank's mean µs per call */
static double timed_osu(const char *c, int n, int iters, long size) {
    double total = 0, sum;
    double *stamps = timeline ? malloc(sizeof(double) * 2 * iters) : NULL;
    if (timeline && !stamps) MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < iters; i++) {
        if (stamps) stamps[2 * i] = monotonic();
        double t0 = MPI_Wtime();
        call(c, n);
        total += MPI_Wtime() - t0;
        if (stamps) stamps[2 * i + 1] = monotonic();
        MPI_Barrier(MPI_COMM_WORLD);
    }
    if (stamps) {
        print_timeline(stamps, iters, c, size);
        free(stamps);
    }
    total = total / iters * 1e6;
    MPI_Allreduce(&total, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return sum / np;
}

static double measure(const char *c, int n, long size, double budget, int min_iters, int max_iters) {
    /* OSU's skip counts: 200 warm-up calls up to 8 KiB, 10 above */
    int warm = size > 8192 ? 10 : 200;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < warm; i++) call(c, n);
    double per = (MPI_Wtime() - t0) / warm, maxper;
    MPI_Allreduce(&per, &maxper, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    int iters = max_iters;
    if (maxper > 0) {
        double k = budget / maxper;
        iters = k > max_iters ? max_iters : (int)k;
        if (iters < min_iters) iters = min_iters;
    }
    if (osu_mode) return timed_osu(c, n, iters, size);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) call(c, n);
    double avg = (MPI_Wtime() - t0) / iters * 1e6, maxavg;
    MPI_Allreduce(&avg, &maxavg, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return maxavg;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    const char *colls = "all", *sizelist = NULL;
    long lo = 4, hi = 4 << 20;
    double budget = 0.03;
    int max_iters = 1000, min_iters = 3;
    double warmup = 0.1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *f = argv[i], *v = argv[i + 1];
        if (!strcmp(f, "-coll")) colls = v;
        else if (!strcmp(f, "-min")) lo = parse_size(v);
        else if (!strcmp(f, "-max")) hi = parse_size(v);
        else if (!strcmp(f, "-sizes")) sizelist = v;
        else if (!strcmp(f, "-budget")) budget = atof(v);
        else if (!strcmp(f, "-iters")) max_iters = atoi(v);
        else if (!strcmp(f, "-min-iters")) min_iters = atoi(v);
        else if (!strcmp(f, "-warmup")) warmup = atof(v);
        else if (!strcmp(f, "-osu")) osu_mode = atoi(v);
        else if (!strcmp(f, "-timeline")) timeline = atoi(v);
        else {
            if (rank == 0) fprintf(stderr, "osu_coll: unknown flag %s\n", f);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    if (timeline) {
        const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        if (!osu_mode || (np > 1 && (!ls || atoi(ls) != np))) {
            if (rank == 0) fprintf(stderr, "osu_coll: -timeline needs -osu 1 and every rank on one host\n");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    long sizes[64];
    int nsizes = 0;
    if (sizelist) {
        hi = 0;
        for (const char *p = sizelist; p && *p && nsizes < 64; p = strchr(p, ','), p = p ? p + 1 : p) {
            sizes[nsizes] = parse_size(p);
            if (sizes[nsizes] > hi) hi = sizes[nsizes];
            nsizes++;
        }
    } else {
        for (long size = lo; size <= hi && nsizes < 64; size *= 2) sizes[nsizes++] = size;
    }
    /* the largest buffer: p blocks of hi bytes */
    long maxn = hi / 4 * np;
    sbuf = malloc(maxn * sizeof(float));
    rbuf = malloc(maxn * sizeof(float));
    counts = malloc(np * sizeof(int));
    displs = malloc(np * sizeof(int));
    if (!sbuf || !rbuf || !counts || !displs) MPI_Abort(MPI_COMM_WORLD, 1);
    fill(sbuf, maxn);
    fill(rbuf, maxn);
    /* untimed 8-byte Allreduce calls for warmup seconds, as bench/coll */
    {
        double t0 = MPI_Wtime(), x;
        do {
            x = MPI_Wtime() - t0;
            MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        } while (x < warmup);
    }
    if (rank == 0)
        printf("# Open MPI collectives latency, np %d, float32 elements, average µs per call (%s)\n", np,
               osu_mode ? "OSU method: average over ranks" : "max over ranks");
    for (int k = 0; all_colls[k]; k++) {
        const char *c = all_colls[k];
        if (strcmp(colls, "all")) { /* is c in the comma list? */
            size_t len = strlen(c);
            const char *p = colls;
            int found = 0;
            while (p && *p) {
                if (!strncmp(p, c, len) && (p[len] == ',' || p[len] == 0)) found = 1;
                p = strchr(p, ',');
                if (p) p++;
            }
            if (!found) continue;
        }
        if (rank == 0) printf("\n## %s (np %d)\n%10s %18s\n", c, np, "bytes", "auto");
        for (int k = 0; k < nsizes; k++) {
            long size = sizes[k];
            if (!strcmp(c, "barrier") && k > 0) break;
            int n = (int)(size / 4);
            for (int i = 0; i < np; i++) {
                counts[i] = n;
                displs[i] = i * n;
            }
            double us = measure(c, n, size, budget, min_iters, max_iters);
            if (rank == 0) {
                char label[32];
                snprintf(label, sizeof label, "%ld", size);
                printf("%10s %18.2f\n", !strcmp(c, "barrier") ? "-" : label, us);
                fflush(stdout);
            }
        }
    }
    free(sbuf);
    free(rbuf);
    MPI_Finalize();
    return 0;
}
