/* Reference STREAM-style triad for gorun's kernel benchmark.
 *
 * Usage: stream_triad N REPS
 * Allocates three double arrays of N elements, first-touches them in
 * parallel (static schedule, like the Go side), runs a[i] = b[i] + q*c[i]
 * REPS times with OpenMP and prints the best rate as
 *   triad_gbps <GB/s> threads <n>
 * counting 24 bytes per element (two loads, one store), as STREAM does.
 * Build: gcc -O3 -fopenmp -march=native -o stream_triad stream_triad.c
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s N REPS\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    int reps = atoi(argv[2]);
    if (n <= 0 || reps <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    double *a = malloc(n * sizeof(double));
    double *b = malloc(n * sizeof(double));
    double *c = malloc(n * sizeof(double));
    if (!a || !b || !c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        a[i] = 0.0;
        b[i] = 1.0;
        c[i] = 2.0;
    }
    const double q = 3.0;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++)
            a[i] = b[i] + q * c[i];
        double t = omp_get_wtime() - t0;
        if (t < best)
            best = t;
    }
    /* Keep the result alive and check it. */
    double check = 0;
    for (long i = 0; i < n; i += n / 16 + 1)
        check += a[i];
    if (check <= 0) {
        fprintf(stderr, "bad result\n");
        return 1;
    }
    printf("triad_gbps %.3f threads %d\n", 24.0 * n / best / 1e9, omp_get_max_threads());
    free(a);
    free(b);
    free(c);
    return 0;
}
