/* The same measurements as bench/p2p (OSU method: warm-up, timed
 * iterations, median of -reps runs) written against MPI, so that gorun and
 * Open MPI are compared by one methodology. Built by
 * scripts/compare-openmpi.sh with mpicc.
 * Usage: osu_p2p latency|bw|ring MIN MAX REPS
 * (ring, as bench/p2p -test ring: a message passed around all ranks, µs
 * per hop) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int bw = argc > 1 && strcmp(argv[1], "bw") == 0;
    int ring = argc > 1 && strcmp(argv[1], "ring") == 0;
    int np;
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    long min = argc > 2 ? atol(argv[2]) : 1, max = argc > 3 ? atol(argv[3]) : 4 << 20;
    int reps = argc > 4 ? atoi(argv[4]) : 5, window = 64;
    char *buf = malloc(max * (bw ? window : 1) + 1);
    char ack[4];
    MPI_Request req[64];
    double *vals = malloc(sizeof(double) * reps);
    if (rank == 0)
        printf("# Open MPI %s test (median of %d)\n", bw ? "bandwidth (MB/s)" : ring ? "ring (us per hop)" : "latency (us)", reps);
    for (long size = min; size <= max; size *= 2) {
        for (int r = 0; r < reps; r++) {
            int iters, skip;
            double start = 0;
            if (ring) {
                int next = (rank + 1) % np, prev = (rank + np - 1) % np;
                iters = size > 8192 ? 1000 : 10000;
                skip = size > 8192 ? 10 : 100;
                for (int i = 0; i < iters + skip; i++) {
                    if (i == skip) start = MPI_Wtime();
                    if (rank == 0) MPI_Send(buf, size, MPI_CHAR, next, 4, MPI_COMM_WORLD);
                    MPI_Recv(buf, size, MPI_CHAR, prev, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    if (rank != 0) MPI_Send(buf, size, MPI_CHAR, next, 4, MPI_COMM_WORLD);
                }
                vals[r] = (MPI_Wtime() - start) * 1e6 / ((double)iters * np);
            } else if (!bw) {
                iters = size > 8192 ? 1000 : 10000;
                skip = size > 8192 ? 10 : 100;
                for (int i = 0; i < iters + skip; i++) {
                    if (i == skip) start = MPI_Wtime();
                    if (rank == 0) {
                        MPI_Send(buf, size, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
                        MPI_Recv(buf, size, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    } else if (rank == 1) {
                        MPI_Recv(buf, size, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                        MPI_Send(buf, size, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
                    }
                }
                vals[r] = (MPI_Wtime() - start) * 1e6 / (2.0 * iters);
            } else {
                iters = size > 8192 ? 20 : 100;
                skip = size > 8192 ? 2 : 10;
                for (int i = 0; i < iters + skip; i++) {
                    if (i == skip) start = MPI_Wtime();
                    if (rank == 0) {
                        for (int w = 0; w < window; w++)
                            MPI_Isend(buf + w * size, size, MPI_CHAR, 1, 2, MPI_COMM_WORLD, &req[w]);
                        MPI_Waitall(window, req, MPI_STATUSES_IGNORE);
                        MPI_Recv(ack, 4, MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    } else if (rank == 1) {
                        for (int w = 0; w < window; w++)
                            MPI_Irecv(buf + w * size, size, MPI_CHAR, 0, 2, MPI_COMM_WORLD, &req[w]);
                        MPI_Waitall(window, req, MPI_STATUSES_IGNORE);
                        MPI_Send(ack, 4, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
                    }
                }
                vals[r] = (double)size * window * iters / (MPI_Wtime() - start) / 1e6;
            }
        }
        if (rank == 0) {
            qsort(vals, reps, sizeof(double), cmp);
            printf("%-12ld %16.2f\n", size, vals[reps / 2]);
        }
    }
    MPI_Finalize();
    return 0;
}
