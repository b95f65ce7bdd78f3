/*
 * OpenBLAS sgemm timing harness, the yardstick for the wasm kernels (bench/matmul/run.ts builds and
 * runs it). Prints the median and the best GFLOP/s of `runs` timed calls after `warmup` untimed ones.
 *
 *   openblas M K N transA transB threads warmup runs
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s M K N transA transB threads warmup runs\n", argv[0]);
    return 2;
  }
  const int M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]);
  const int trans_a = atoi(argv[4]), trans_b = atoi(argv[5]);
  const int threads = atoi(argv[6]), warmup = atoi(argv[7]), runs = atoi(argv[8]);
  if (M <= 0 || K <= 0 || N <= 0 || threads <= 0 || runs <= 0 || warmup < 0) {
    fprintf(stderr, "M, K, N, threads and runs must be positive\n");
    return 2;
  }
  openblas_set_num_threads(threads);

  float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N), *c = malloc(sizeof(float) * M * N);
  double *seconds = malloc(sizeof(double) * runs);
  if (!a || !b || !c || !seconds) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  srand(1);
  for (long i = 0; i < (long)M * K; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
  for (long i = 0; i < (long)K * N; i++) b[i] = (float)rand() / RAND_MAX - 0.5f;

  /* Row-major, same storage conventions as the Backend interface: a is [K, M] when transposed, b [N, K]. */
  const enum CBLAS_TRANSPOSE op_a = trans_a ? CblasTrans : CblasNoTrans;
  const enum CBLAS_TRANSPOSE op_b = trans_b ? CblasTrans : CblasNoTrans;
  const int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  for (int i = 0; i < warmup + runs; i++) {
    const double start = now_seconds();
    cblas_sgemm(CblasRowMajor, op_a, op_b, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, N);
    if (i >= warmup) seconds[i - warmup] = now_seconds() - start;
  }
  qsort(seconds, runs, sizeof(double), compare_doubles);
  const double flop = 2.0 * M * N * K;
  printf("%.3f %.3f\n", flop / seconds[runs / 2] / 1e9, flop / seconds[0] / 1e9);
  free(a); free(b); free(c); free(seconds);
  return 0;
}
