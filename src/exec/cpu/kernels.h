// The CPU transformer's kernels: small free functions over raw float arrays, llama2.c style, each
// with its shapes in the comment. Every one has a naive reference in kernels_test.cc.
//
// Reproducibility contract: a kernel's result for one row depends only on that row's inputs,
// never on the batch size, the row's place in the batch or the thread count. Dot products
// accumulate in a fixed lane order (element i into lane i % kDotLanes, lanes summed by a fixed
// tree), so a request's tokens are identical whatever batch it runs in.
#pragma once

#include <cstdint>

namespace orbitflow {

class ThreadPool;

// Accumulator lanes of every dot product (one AVX-512 register, two AVX2 registers).
inline constexpr int kDotLanes = 16;

// sum_i a[i] * b[i] in the fixed lane order above.                     a, b [n]
float Dot(const float* a, const float* b, int n);

// y[j] = Dot(x, w + j * w_stride, n) for j in [0, rows), bit for bit: one vector against rows
// at a stride (attention scores against a block's keys).       y [rows]; x [n]; w [rows][stride]
void DotStrided(float* y, const float* x, const float* w, int64_t w_stride, int rows, int n);

// out[i] += a[t] * v[t][i] for t = 0, 1, ..., rows-1 in that order (attention's weighted sum of
// values, one block at a time: the per-element order is the token order whatever the blocks).
//   out [n]; a [rows]; v [rows][v_stride]
void AccumulateWeighted(float* out, const float* a, const float* v, int64_t v_stride, int rows,
                        int n);

// out = weight * x / sqrt(mean(x^2) + eps), one row.            out, x, weight [n]
void RmsNorm(float* out, const float* x, const float* weight, int n, float eps);

// RmsNorm on each of `rows` rows.                          out, x [rows][n]; weight [n]
void RmsNormRows(float* out, const float* x, const float* weight, int rows, int n, float eps);

// y = x W^T for a batch: y[b][o] = sum_i x[b][i] * w[o][i].
//   y [batch][out], x [batch][in], w [out][in] (row-major, as the weights are stored).
// Parallel over output rows; each weight row is read from memory once per call and reused for
// every batch row while it sits in L1, so a batch of 16 costs far less than 16 calls.
// `pool` may be null (runs on the calling thread).
void Matmul(float* y, const float* x, const float* w, int batch, int in, int out,
            ThreadPool* pool);

// Rotation table for one position: cs[2j] = cos(pos * f_j), cs[2j+1] = sin(pos * f_j) with
// f_j = theta^(-2j / head_dim), j in [0, head_dim / 2).                       cs [head_dim]
void RopeTable(float* cs, int head_dim, int pos, float theta);

// Rotates interleaved pairs (0,1), (2,3), ... of every head of `vec` by the table.
//   vec [n] = [n / head_dim heads][head_dim]; cs [head_dim] from RopeTable.
void ApplyRope(float* vec, int n, int head_dim, const float* cs);

// RopeTable + ApplyRope: rotates vec as the token at position `pos`.             vec [n]
// REQUIRES: head_dim <= kMaxRopeHeadDim (the table lives on the stack).
inline constexpr int kMaxRopeHeadDim = 512;
void Rope(float* vec, int n, int head_dim, int pos, float theta);

// In place: x = exp(x - max) / sum.                                                 x [n]
void Softmax(float* x, int n);

// In place: hb = silu(hb) * hb2, the SwiGLU gate (hb = w1 x, hb2 = w3 x).     hb, hb2 [n]
void SwiGlu(float* hb, const float* hb2, int n);

// In place: x += y (the residual connection).                                    x, y [n]
void AddInPlace(float* x, const float* y, int64_t n);

// Index of the largest value (the first one on ties).                               x [n]
int Argmax(const float* x, int n);

}  // namespace orbitflow
