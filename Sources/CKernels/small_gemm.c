#include "CKernels.h"

void tk_pack_panels(int k, int n, const float *w, float *packed) {
    for (int panel = 0; panel < n / TK_PANEL; panel++)
        for (int p = 0; p < k; p++)
            for (int j = 0; j < TK_PANEL; j++)
                packed[((long)panel * k + p) * TK_PANEL + j] = w[(long)p * n + panel * TK_PANEL + j];
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

int tk_small_gemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define TARGET __attribute__((target("avx2,fma")))

/// One tile: MR rows of x against one 16-column panel, accumulated into y. MR is a
/// compile-time constant at every call site, so the row loops unroll and the 2·MR
/// accumulators stay in registers (12 of the 16 ymm registers for MR = 6).
static inline __attribute__((always_inline)) TARGET
void tile(const int MR, int k, const float *x, int ldx, const float *panel, const float *bias, float *y, int ldy, const float *ahead) {
    __m256 c0[6], c1[6];
    __m256 bias0 = _mm256_loadu_ps(bias), bias1 = _mm256_loadu_ps(bias + 8);
    for (int r = 0; r < MR; r++) { c0[r] = bias0; c1[r] = bias1; }
    for (int p = 0; p < k; p++) {
        if (ahead) _mm_prefetch((const char *)(ahead + p * TK_PANEL), _MM_HINT_T0);
        __m256 b0 = _mm256_loadu_ps(panel + p * TK_PANEL);
        __m256 b1 = _mm256_loadu_ps(panel + p * TK_PANEL + 8);
        for (int r = 0; r < MR; r++) {
            __m256 a = _mm256_broadcast_ss(x + (long)r * ldx + p);
            c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
        }
    }
    for (int r = 0; r < MR; r++) {
        float *yr = y + (long)r * ldy;
        _mm256_storeu_ps(yr, c0[r]);
        _mm256_storeu_ps(yr + 8, c1[r]);
    }
}

TARGET
void tk_small_gemm(int m, int panel_begin, int panel_end, int k, const float *x, int ldx, const float *packed, const float *bias, float *y, int ldy) {
    // Panel outermost: its k×16 weights are reused by every row tile while in cache.
    for (int panel = panel_begin; panel < panel_end; panel++) {
        const float *w = packed + (long)panel * k * TK_PANEL;
        float *yp = y + panel * TK_PANEL;
        const float *bp = bias + panel * TK_PANEL;
        // The first row tile also prefetches the next panel, one cache line per step, so
        // memory streams while the arithmetic runs instead of stalling at each new panel.
        const float *next = panel + 1 < panel_end ? w + (long)k * TK_PANEL : 0;
        int i = 0;
        for (; i + 6 <= m; i += 6, next = 0) tile(6, k, x + (long)i * ldx, ldx, w, bp, yp + (long)i * ldy, ldy, next);
        const float *xi = x + (long)i * ldx;
        float *yi = yp + (long)i * ldy;
        switch (m - i) {
        case 5: tile(5, k, xi, ldx, w, bp, yi, ldy, next); break;
        case 4: tile(4, k, xi, ldx, w, bp, yi, ldy, next); break;
        case 3: tile(3, k, xi, ldx, w, bp, yi, ldy, next); break;
        case 2: tile(2, k, xi, ldx, w, bp, yi, ldy, next); break;
        case 1: tile(1, k, xi, ldx, w, bp, yi, ldy, next); break;
        default: break;
        }
    }
}

#else

int tk_small_gemm_available(void) { return 0; }

/// Portable version (callers prefer BLAS when the fast kernel is unavailable).
void tk_small_gemm(int m, int panel_begin, int panel_end, int k, const float *x, int ldx, const float *packed, const float *bias, float *y, int ldy) {
    for (int panel = panel_begin; panel < panel_end; panel++)
        for (int r = 0; r < m; r++)
            for (int j = 0; j < TK_PANEL; j++) {
                float s = bias[panel * TK_PANEL + j];
                for (int p = 0; p < k; p++) s += x[(long)r * ldx + p] * packed[((long)panel * k + p) * TK_PANEL + j];
                y[(long)r * ldy + panel * TK_PANEL + j] = s;
            }
}

#endif
