// The pieces every fused recurrence of ops_rnn*.cpp shares (internal to autograd/): in-place
// activations, bias rows and sums, the checked geometry of a sequence, the step weight and
// the split of the batch rows over threads.
//
// Bit-identity rule: each row's arithmetic must not depend on how the rows are split, so the
// activations run row by row (which values take the vector body and which the scalar tail is
// then fixed by H alone) and every reduction runs in a fixed order.
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/detail.hpp"
#include "autograd/packed_gemm.hpp"
#include "autograd/row_blocks.hpp"
#include "autograd/tape.hpp"

namespace tapenet::detail::rnn {

// x <- σ(x) = 1 / (1 + e^{-x}) on n contiguous values (for x → -∞, e^{-x} = inf gives 0).
template <class T>
void sigmoid_inplace(T* x, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const B v = B::load_unaligned(x + i);
    (B(T(1)) / (B(T(1)) + xsimd::exp(-v))).store_unaligned(x + i);
  }
  for (; i < n; ++i) x[i] = T(1) / (T(1) + std::exp(-x[i]));
}

// x <- tanh(x) on n contiguous values.
template <class T>
void tanh_inplace(T* x, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) xsimd::tanh(B::load_unaligned(x + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] = std::tanh(x[i]);
}

// dst[r, :] = (src ? src[r, :] : 0) + bias for `rows` rows of width n.
template <class T>
void rows_plus_bias(T* dst, const T* src, const T* bias, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r) {
    T* d = dst + r * n;
    if (src) {
      const T* s = src + r * n;
      for (std::size_t j = 0; j < n; ++j) d[j] = s[j] + bias[j];
    } else {
      std::copy(bias, bias + n, d);
    }
  }
}

// out[j] += Σ_r g[r, j]  (the gradient of a bias broadcast over rows)
template <class T>
void add_column_sums(T* out, const T* g, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r) {
    const T* s = g + r * n;
    for (std::size_t j = 0; j < n; ++j) out[j] += s[j];
  }
}

template <class T>
void add_into(T* dst, const T* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}

// The checked geometry of one fused recurrence, and each row's length: row r runs steps
// [0, len[r]) and is padding after them (no lengths: every row runs all T steps).
struct Geometry {
  std::size_t T, B, H, G;
  std::vector<std::size_t> len;
  bool live(std::size_t r, std::size_t s) const { return len.empty() || s < len[r]; }
  std::size_t BH() const { return B * H; }
};

// W_hh (or a block of its rows, row-major) as the right-hand side of every step's product:
// B = Wᵀ [K, N] when `transposed` (the forward h W_hhᵀ), else B = W [K, N] (the backward
// da W_hh). Packed once when the sequence has enough rows (steps × batch) to repay the copy,
// plain BLAS otherwise.
template <class T>
PackedWeight<T> step_weight(const T* W, std::size_t K, std::size_t N, bool transposed, const Geometry& g) {
  const bool repays = packing_repays(g.T * g.B, transposed);
  return PackedWeight<T>(W, transposed ? K : N, K, N, transposed, repays ? best_packed_isa() : PackedIsa::None);
}

// body(r0, r1) over row blocks of the batch, one per OpenBLAS thread. The rows of a
// recurrence are independent examples, so each block runs every time step, gate math
// included, without meeting the others (and each row's sums are the same in any split).
// Without a packed kernel the rows stay together and BLAS threads the products instead.
template <class T, class Body>
void for_batch_blocks(std::size_t B, const PackedWeight<T>& weight, const Body& body) {
  if (weight.isa() == PackedIsa::None)
    body(std::size_t(0), B);
  else
    for_row_blocks(B, 1, body);
}

// Checks xp [T·B, gates·H], h0 [B, H], c0 (when given) [B, H], W [gates·H, H], b (gates·H
// values) and lengths (empty, or B values in 1..T); throws ShapeError naming `op`.
template <class T>
Geometry check_sequence(const char* op, std::size_t gates, Var<T> xp, Var<T> h0, const Var<T>* c0, Var<T> W,
                        Var<T> b, const std::vector<std::size_t>& lengths) {
  auto bad = [&](const std::string& what) {
    std::string s = "xp " + shape_str(xp.shape()) + ", h0 " + shape_str(h0.shape());
    if (c0) s += ", c0 " + shape_str(c0->shape());
    throw ShapeError(op, what + " (" + s + ", W_hh " + shape_str(W.shape()) + ", b_hh " + shape_str(b.shape()) + ")");
  };
  if (h0.ndim() != 2 || xp.ndim() != 2 || W.ndim() != 2) bad("xp, h0 and W_hh must be 2-D");
  const std::size_t B = h0.dim(0), H = h0.dim(1), G = gates * H;
  if (B == 0 || H == 0) bad("empty state");
  if (xp.dim(1) != G || xp.dim(0) % B != 0 || xp.dim(0) == 0) bad("xp must be [T·B, " + std::to_string(G) + "]");
  if (W.dim(0) != G || W.dim(1) != H) bad("W_hh must be [" + std::to_string(G) + ", " + std::to_string(H) + "]");
  if (b.size() != G) bad("b_hh must hold " + std::to_string(G) + " values");
  if (c0 && (c0->ndim() != 2 || c0->dim(0) != B || c0->dim(1) != H)) bad("c0 must be shaped like h0");
  const std::size_t steps = xp.dim(0) / B;
  if (!lengths.empty()) {
    if (lengths.size() != B) bad(std::to_string(lengths.size()) + " lengths for " + std::to_string(B) + " rows");
    for (std::size_t len : lengths)
      if (len == 0 || len > steps) bad("length " + std::to_string(len) + " outside 1.." + std::to_string(steps));
  }
  const bool full = std::all_of(lengths.begin(), lengths.end(), [&](std::size_t len) { return len == steps; });
  return {steps, B, H, G, full ? std::vector<std::size_t>{} : lengths};
}

// dW_hh += dAᵀ [h_0; h_1 .. h_{T-1}] as two GEMMs (h_0 is separate from the output rows);
// db_hh += column sums of dA.
template <class T>
void recurrent_weight_grads(Tape<T>& t, std::uint32_t iW, std::uint32_t ib, const Geometry& g, const T* dA,
                            const T* h0, const T* Hout) {
  if (t.requires_grad(iW)) {
    T* dW = t.grad_buffer(iW).data();
    gemm_accumulate(true, false, g.G, g.H, g.B, dA, g.G, h0, g.H, dW, g.H);
    if (g.T > 1) gemm_accumulate(true, false, g.G, g.H, (g.T - 1) * g.B, dA + g.B * g.G, g.G, Hout, g.H, dW, g.H);
  }
  if (t.requires_grad(ib)) add_column_sums(t.grad_buffer(ib).data(), dA, g.T * g.B, g.G);
}

}  // namespace tapenet::detail::rnn
