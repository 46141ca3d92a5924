#ifndef TANDEM_CKERNELS_H
#define TANDEM_CKERNELS_H

/// Small-batch matrix product for the encoder's single-sentence path.
///
/// OpenBLAS repacks the weight matrix on every sgemm call; for a 15-token sentence that
/// copy costs as much as the arithmetic. Here the weights are packed once, at load, into
/// panels of 16 output columns (`[n/16][k][16]`, each panel contiguous so it streams from
/// memory at full bandwidth), and a 6×16 tile of the output is kept in registers.
/// The kernel is compiled for AVX2+FMA and used only on CPUs that have them (checked at run
/// time); everywhere else the caller uses BLAS.

#ifdef __cplusplus
extern "C" {
#endif

/// Width of one packed panel.
enum { TK_PANEL = 16 };

/// 1 when the AVX2+FMA kernel can run on this CPU.
int tk_small_gemm_available(void);

/// Packs w (row-major [k, n], n a multiple of TK_PANEL) into panels.
void tk_pack_panels(int k, int n, const float *w, float *packed);

/// y[m × n] = bias + x[m × k] · W for the output columns of panels [panel_begin, panel_end);
/// x and y row-major with leading dimensions ldx and ldy; bias has n entries.
void tk_small_gemm(int m, int panel_begin, int panel_end, int k,
                   const float *x, int ldx, const float *packed, const float *bias, float *y, int ldy);

/// In place exact GELU, 0.5·x·(1 + erf(x/√2)), with erf from the rational approximation
/// Eigen and XLA use for float (max abs error 4e-7), vectorised with AVX2 where available.
void tk_gelu(float *x, long count);

/// erf as used by tk_gelu, exposed for tests.
float tk_erf(float x);

/// Attention for one head of one short sequence: out[i] = softmax(q_i·Kᵀ·scale)·V.
/// q, k, v rows are `stride` floats apart, out rows `out_stride` apart; `scratch` holds
/// n·n + n·head_dim floats. Scores are accumulated over j (contiguous after transposing K)
/// so the loops vectorise without reassociating a reduction.
void tk_attention(int n, int head_dim, const float *q, const float *k, const float *v, int stride,
                  float scale, float *scratch, float *out, int out_stride);

/// out[rows × classes] = X · W for X in compressed sparse rows and W [columns × classes].
void tk_sparse_mm(int rows, const long *row_start, const int *indices, const float *values,
                  const float *w, int classes, float *out);

/// out[columns × classes] = Xᵀ · G for X in compressed sparse rows and G [rows × classes].
void tk_sparse_tmm(int rows, int columns, const long *row_start, const int *indices, const float *values,
                   const float *g, int classes, float *out);

/// Softmax cross-entropy over logits [rows × classes] (bias added here). Returns the summed
/// loss; overwrites logits with (softmax − one-hot) · scale and writes the bias gradient.
double tk_softmax_loss(int rows, int classes, float *logits, const float *bias, const int *labels,
                       float scale, float *bias_gradient);

#ifdef __cplusplus
}
#endif

#endif
