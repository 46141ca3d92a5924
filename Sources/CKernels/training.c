#include "CKernels.h"
#include <math.h>

// Kernels for training the linear heads, written once as plain loops and compiled for the
// baseline target and for AVX2+FMA (chosen at run time), as in elementwise.c.

static inline __attribute__((always_inline))
void sparse_mm_body(int rows, const long *row_start, const int *indices, const float *values,
                    const float *w, int classes, float *out) {
    for (int r = 0; r < rows; r++) {
        float *o = out + (long)r * classes;
        for (int c = 0; c < classes; c++) o[c] = 0;
        for (long p = row_start[r]; p < row_start[r + 1]; p++) {
            const float *wr = w + (long)indices[p] * classes;
            float v = values[p];
            for (int c = 0; c < classes; c++) o[c] += v * wr[c];
        }
    }
}

static inline __attribute__((always_inline))
void sparse_tmm_body(int rows, int columns, const long *row_start, const int *indices, const float *values,
                     const float *g, int classes, float *out) {
    for (long i = 0; i < (long)columns * classes; i++) out[i] = 0;
    for (int r = 0; r < rows; r++) {
        const float *gr = g + (long)r * classes;
        for (long p = row_start[r]; p < row_start[r + 1]; p++) {
            float *o = out + (long)indices[p] * classes;
            float v = values[p];
            for (int c = 0; c < classes; c++) o[c] += v * gr[c];
        }
    }
}

static inline __attribute__((always_inline))
double softmax_loss_body(int rows, int classes, float *logits, const float *bias, const int *labels,
                         float scale, float *bias_gradient) {
    double loss = 0;
    for (int c = 0; c < classes; c++) bias_gradient[c] = 0;
    for (int r = 0; r < rows; r++) {
        float *z = logits + (long)r * classes;
        float maximum = -INFINITY;
        for (int c = 0; c < classes; c++) { z[c] += bias[c]; maximum = z[c] > maximum ? z[c] : maximum; }
        float sum = 0;
        for (int c = 0; c < classes; c++) { z[c] = expf(z[c] - maximum); sum += z[c]; }
        int y = labels[r];
        loss += (double)(logf(sum) - logf(z[y]));
        float inverse = 1.f / sum;
        for (int c = 0; c < classes; c++) {
            float g = (z[c] * inverse - (c == y ? 1.f : 0.f)) * scale;
            z[c] = g;
            bias_gradient[c] += g;
        }
    }
    return loss;
}

#if defined(__x86_64__) || defined(_M_X64)
#define FAST __attribute__((target("avx2,fma")))
static FAST void sparse_mm_fast(int rows, const long *rs, const int *ix, const float *v, const float *w, int k, float *out) {
    sparse_mm_body(rows, rs, ix, v, w, k, out);
}
static FAST void sparse_tmm_fast(int rows, int cols, const long *rs, const int *ix, const float *v, const float *g, int k, float *out) {
    sparse_tmm_body(rows, cols, rs, ix, v, g, k, out);
}
static FAST double softmax_loss_fast(int rows, int k, float *z, const float *b, const int *y, float s, float *bg) {
    return softmax_loss_body(rows, k, z, b, y, s, bg);
}
static int fast(void) { return tk_small_gemm_available(); }
#else
static int fast(void) { return 0; }
#define sparse_mm_fast sparse_mm_body
#define sparse_tmm_fast sparse_tmm_body
#define softmax_loss_fast softmax_loss_body
#endif

void tk_sparse_mm(int rows, const long *row_start, const int *indices, const float *values,
                  const float *w, int classes, float *out) {
    if (fast()) sparse_mm_fast(rows, row_start, indices, values, w, classes, out);
    else sparse_mm_body(rows, row_start, indices, values, w, classes, out);
}

void tk_sparse_tmm(int rows, int columns, const long *row_start, const int *indices, const float *values,
                   const float *g, int classes, float *out) {
    if (fast()) sparse_tmm_fast(rows, columns, row_start, indices, values, g, classes, out);
    else sparse_tmm_body(rows, columns, row_start, indices, values, g, classes, out);
}

double tk_softmax_loss(int rows, int classes, float *logits, const float *bias, const int *labels,
                       float scale, float *bias_gradient) {
    if (fast()) return softmax_loss_fast(rows, classes, logits, bias, labels, scale, bias_gradient);
    return softmax_loss_body(rows, classes, logits, bias, labels, scale, bias_gradient);
}
