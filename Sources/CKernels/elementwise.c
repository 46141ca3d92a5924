#include "CKernels.h"
#include <math.h>

// Each kernel is written once as plain loops (`*_body`) and compiled twice: for the baseline
// target and, on x86-64, for AVX2+FMA. The AVX2 copy is chosen at run time, so the binary
// still runs on CPUs without it.

static inline __attribute__((always_inline)) float erf_approx(float input) {
    // erf(±4) rounds to ±1 in float, so clamping loses nothing.
    float x = input < -4.f ? -4.f : (input > 4.f ? 4.f : input);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

float tk_erf(float x) { return erf_approx(x); }

static inline __attribute__((always_inline)) void gelu_body(float *x, long count) {
    for (long i = 0; i < count; i++) x[i] = 0.5f * x[i] * (1.f + erf_approx(x[i] * 0.70710678118654752f));
}

static inline __attribute__((always_inline))
void attention_body(int n, int d, const float *q, const float *k, const float *v, int stride,
                    float scale, float *scratch, float *out, int out_stride) {
    float *kt = scratch;           // [d][n]: K transposed
    float *row = scratch + d * n;  // [n]: one row of scores
    for (int j = 0; j < n; j++)
        for (int c = 0; c < d; c++) kt[c * n + j] = k[(long)j * stride + c];
    for (int i = 0; i < n; i++) {
        const float *qi = q + (long)i * stride;
        for (int j = 0; j < n; j++) row[j] = 0;
        for (int c = 0; c < d; c++) {
            float a = qi[c] * scale;
            const float *kc = kt + c * n;
            for (int j = 0; j < n; j++) row[j] += a * kc[j];
        }
        float maximum = row[0];
        for (int j = 1; j < n; j++) maximum = row[j] > maximum ? row[j] : maximum;
        float sum = 0;
        for (int j = 0; j < n; j++) { row[j] = expf(row[j] - maximum); sum += row[j]; }
        float inverse = 1.f / sum;
        float *o = out + (long)i * out_stride;
        for (int c = 0; c < d; c++) o[c] = 0;
        for (int j = 0; j < n; j++) {
            float p = row[j] * inverse;
            const float *vj = v + (long)j * stride;
            for (int c = 0; c < d; c++) o[c] += p * vj[c];
        }
    }
}

#if defined(__x86_64__) || defined(_M_X64)
#define FAST __attribute__((target("avx2,fma")))
static FAST void gelu_fast(float *x, long count) { gelu_body(x, count); }
static FAST void attention_fast(int n, int d, const float *q, const float *k, const float *v, int stride,
                                float scale, float *scratch, float *out, int out_stride) {
    attention_body(n, d, q, k, v, stride, scale, scratch, out, out_stride);
}
static int fast(void) { return tk_small_gemm_available(); }
#else
static int fast(void) { return 0; }
#define gelu_fast gelu_body
#define attention_fast attention_body
#endif

void tk_gelu(float *x, long count) {
    if (fast()) gelu_fast(x, count); else gelu_body(x, count);
}

void tk_attention(int n, int head_dim, const float *q, const float *k, const float *v, int stride,
                  float scale, float *scratch, float *out, int out_stride) {
    if (fast()) attention_fast(n, head_dim, q, k, v, stride, scale, scratch, out, out_stride);
    else attention_body(n, head_dim, q, k, v, stride, scale, scratch, out, out_stride);
}
