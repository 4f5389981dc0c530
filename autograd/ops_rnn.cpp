// Fused whole-sequence recurrences (see ops_rnn.hpp). Forward and backward of each cell sit
// side by side; the elementwise gate math is vectorised with xsimd (σ, tanh) and plain loops
// the compiler vectorises (products and sums), all in place in a few preallocated buffers.
#include "autograd/ops_rnn.hpp"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "autograd/detail.hpp"
#include "autograd/node_products.hpp"
#include "autograd/packed_gemm.hpp"
#include "autograd/row_blocks.hpp"

namespace tapenet {

using detail::gemm_accumulate;
using detail::PackedWeight;

namespace {

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
};

// W_hh (or a block of its rows, row-major) as the right-hand side of every step's product:
// B = Wᵀ [K, N] when `transposed` (the forward h W_hhᵀ), else B = W [K, N] (the backward
// da W_hh). Packed once when the sequence has enough rows (steps × batch) to repay the copy,
// plain BLAS otherwise.
template <class T>
PackedWeight<T> step_weight(const T* W, std::size_t K, std::size_t N, bool transposed, const Geometry& g) {
  const bool repays = detail::packing_repays(g.T * g.B, transposed);
  return PackedWeight<T>(W, transposed ? K : N, K, N, transposed,
                         repays ? detail::best_packed_isa() : detail::PackedIsa::None);
}

// body(r0, r1) over row blocks of the batch, one per OpenBLAS thread. The rows of a
// recurrence are independent examples, so each block runs every time step, gate math
// included, without meeting the others (and each row's sums are the same in any split).
// Without a packed kernel the rows stay together and BLAS threads the products instead.
template <class T, class Body>
void for_batch_blocks(std::size_t B, const PackedWeight<T>& weight, const Body& body) {
  if (weight.isa() == detail::PackedIsa::None)
    body(std::size_t(0), B);
  else
    detail::for_row_blocks(B, 1, body);
}

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

}  // namespace

// ---- Elman (tanh) ----------------------------------------------------------------------------
// h_t = tanh(a_t),  a_t = xp_t + b_hh + h_{t-1} W_hhᵀ
// da_t = (dh_t) ⊙ (1 - h_t²),  dh_{t-1} += da_t W_hh,  dW_hh += Σ da_tᵀ h_{t-1}
template <class T>
Var<T> elman_tanh_sequence(Var<T> xp, Var<T> h0, Var<T> W, Var<T> b, const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence<T>("elman_tanh_sequence", 1, xp, h0, nullptr, W, b, lengths);
  const std::size_t B = g.B, H = g.H, steps = g.T, BH = B * H;
  Tensor<T> out = Tensor<T>::from_shape({steps * B, H});
  T* Y = out.data();
  rows_plus_bias(Y, xp.value().data(), b.value().data(), steps * B, H);
  const auto Wt = step_weight(W.value().data(), H, H, true, g);
  const T* h0p = h0.value().data();
  for_batch_blocks(B, Wt, [&](std::size_t r0, std::size_t r1) {
    const std::size_t rows = r1 - r0, off = r0 * H;
    for (std::size_t s = 0; s < steps; ++s) {
      T* y = Y + s * BH + off;
      Wt.multiply_add(rows, (s ? Y + (s - 1) * BH : h0p) + off, H, y, H);
      // Row by row, as the other cells: which values take tanh_inplace's scalar tail must
      // not depend on the row split.
      for (std::size_t r = 0; r < rows; ++r) {
        if (g.live(r0 + r, s)) tanh_inplace(y + r * H, H);
        else std::fill_n(y + r * H, H, T(0));  // padding: zero output
      }
    }
  });
  auto ix = xp.id(), ih = h0.id(), iW = W.id(), ib = b.id();
  return xp.tape().record("elman_tanh_sequence", std::move(out), {xp, h0, W, b},
                          [ix, ih, iW, ib, g](Tape<T>& t, const Tensor<T>& G, const Tensor<T>& out) {
    const std::size_t H = g.H, BH = g.B * g.H;
    const T* Y = out.data();
    const T* dY = G.data();
    const auto Wn = step_weight(t.value(iW).data(), H, H, false, g);
    T* dh0 = t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr;
    Tensor<T> dA = Tensor<T>::from_shape({g.T * g.B, H});
    Tensor<T> dh = Tensor<T>::from_shape({g.B, H});
    for_batch_blocks(g.B, Wn, [&](std::size_t r0, std::size_t r1) {
      const std::size_t rows = r1 - r0, off = r0 * H, n = rows * H;
      T* d = dh.data() + off;
      std::copy_n(dY + (g.T - 1) * BH + off, n, d);
      for (std::size_t s = g.T; s-- > 0;) {
        const T* y = Y + s * BH + off;
        T* da = dA.data() + s * BH + off;
        for (std::size_t k = 0; k < n; ++k) da[k] = d[k] * (T(1) - y[k] * y[k]);
        for (std::size_t r = 0; r < rows; ++r)  // padding carries no gradient
          if (!g.live(r0 + r, s)) std::fill_n(da + r * H, H, T(0));
        if (s > 0) {
          std::copy_n(dY + (s - 1) * BH + off, n, d);
          Wn.multiply_add(rows, da, H, d, H);
        } else if (dh0) {
          Wn.multiply_add(rows, da, H, dh0 + off, H);
        }
      }
    });
    recurrent_weight_grads(t, iW, ib, g, dA.data(), t.value(ih).data(), Y);
    t.accumulate(ix, std::move(dA));
  });
}

// ---- LSTM ------------------------------------------------------------------------------------
// Saved: A [T·B, 4H] = the gate activations i, f, g, o; C = c_t; TC = tanh(c_t).
//   do = dh ⊙ tanh(c);  dc += dh ⊙ o ⊙ (1 - tanh²(c))
//   di = dc ⊙ g,  df = dc ⊙ c_{t-1},  dg = dc ⊙ i,  dc_{t-1} = dc ⊙ f
//   da_{i,f,o} = d{i,f,o} ⊙ σ(1 - σ),  da_g = dg ⊙ (1 - g²)
template <class T>
Var<T> lstm_sequence(Var<T> xp, Var<T> h0, Var<T> c0, Var<T> W, Var<T> b, const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence("lstm_sequence", 4, xp, h0, &c0, W, b, lengths);
  const std::size_t B = g.B, H = g.H, G = g.G, steps = g.T, BH = B * H;
  Tensor<T> A = Tensor<T>::from_shape({steps * B, G});
  Tensor<T> C = Tensor<T>::from_shape({steps * B, H});
  Tensor<T> TC = Tensor<T>::from_shape({steps * B, H});
  Tensor<T> out = Tensor<T>::from_shape({(steps + 1) * B, H});  // h_1 .. h_T, then c_T
  T* Y = out.data();
  rows_plus_bias(A.data(), xp.value().data(), b.value().data(), steps * B, G);
  const auto Wt = step_weight(W.value().data(), H, G, true, g);
  const T *h0p = h0.value().data(), *c0p = c0.value().data();
  for_batch_blocks(B, Wt, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t s = 0; s < steps; ++s) {
      const T* hp = s ? Y + (s - 1) * BH : h0p;
      const T* cp = s ? C.data() + (s - 1) * BH : c0p;
      T* a = A.data() + s * B * G;
      Wt.multiply_add(r1 - r0, hp + r0 * H, H, a + r0 * G, G);
      for (std::size_t r = r0; r < r1; ++r) {
        if (!g.live(r, s)) {  // padding: zero output, the cell carried (c_T holds each row's last c)
          std::fill_n(Y + s * BH + r * H, H, T(0));
          std::copy_n(cp + r * H, H, C.data() + s * BH + r * H);
          continue;
        }
        T* ar = a + r * G;
        sigmoid_inplace(ar, 2 * H);  // i, f
        tanh_inplace(ar + 2 * H, H);  // g
        sigmoid_inplace(ar + 3 * H, H);  // o
        const T *i = ar, *f = ar + H, *gg = ar + 2 * H;
        const T* cpr = cp + r * H;
        T* c = C.data() + s * BH + r * H;
        T* tc = TC.data() + s * BH + r * H;
        for (std::size_t j = 0; j < H; ++j) tc[j] = c[j] = f[j] * cpr[j] + i[j] * gg[j];
        tanh_inplace(tc, H);
        const T* o = ar + 3 * H;
        T* h = Y + s * BH + r * H;
        for (std::size_t j = 0; j < H; ++j) h[j] = o[j] * tc[j];
      }
    }
  });
  std::copy(C.data() + (steps - 1) * BH, C.data() + steps * BH, Y + steps * BH);
  auto ix = xp.id(), ih = h0.id(), ic = c0.id(), iW = W.id(), ib = b.id();
  return xp.tape().record(
      "lstm_sequence", std::move(out), {xp, h0, c0, W, b},
      [ix, ih, ic, iW, ib, g, A = std::move(A), C = std::move(C), TC = std::move(TC)](
          Tape<T>& t, const Tensor<T>& Gr, const Tensor<T>& out) {
        const std::size_t B = g.B, H = g.H, G = g.G, BH = g.B * g.H;
        const T* dY = Gr.data();
        const auto Wn = step_weight(t.value(iW).data(), G, H, false, g);
        T* dh0 = t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr;
        const T* c0p = t.value(ic).data();
        Tensor<T> dA = Tensor<T>::from_shape({g.T * B, G});
        Tensor<T> dh = Tensor<T>::from_shape({B, H}), dc = Tensor<T>::from_shape({B, H});
        for_batch_blocks(B, Wn, [&](std::size_t r0, std::size_t r1) {
          const std::size_t rows = r1 - r0, off = r0 * H;
          std::copy_n(dY + (g.T - 1) * BH + off, rows * H, dh.data() + off);
          std::copy_n(dY + g.T * BH + off, rows * H, dc.data() + off);  // the gradient of c_T
          for (std::size_t s = g.T; s-- > 0;) {
            const T* cp = s ? C.data() + (s - 1) * BH : c0p;
            for (std::size_t r = r0; r < r1; ++r) {
              T* dar = dA.data() + (s * B + r) * G;
              if (!g.live(r, s)) {  // padding: no gate gradient; dc passes on unchanged
                std::fill_n(dar, G, T(0));
                continue;
              }
              const T* ar = A.data() + (s * B + r) * G;
              const T *i = ar, *f = ar + H, *gg = ar + 2 * H, *o = ar + 3 * H;
              const T* tc = TC.data() + s * BH + r * H;
              const T* cpr = cp + r * H;
              T* dhr = dh.data() + r * H;
              T* dcr = dc.data() + r * H;
              for (std::size_t j = 0; j < H; ++j) {
                const T dhv = dhr[j];
                const T dcv = dcr[j] + dhv * o[j] * (T(1) - tc[j] * tc[j]);
                dar[j] = dcv * gg[j] * i[j] * (T(1) - i[j]);                   // da_i
                dar[H + j] = dcv * cpr[j] * f[j] * (T(1) - f[j]);              // da_f
                dar[2 * H + j] = dcv * i[j] * (T(1) - gg[j] * gg[j]);          // da_g
                dar[3 * H + j] = dhv * tc[j] * o[j] * (T(1) - o[j]);           // da_o
                dcr[j] = dcv * f[j];                                           // dc_{t-1}
              }
            }
            const T* da = dA.data() + (s * B + r0) * G;
            if (s > 0) {
              std::copy_n(dY + (s - 1) * BH + off, rows * H, dh.data() + off);
              Wn.multiply_add(rows, da, G, dh.data() + off, H);
            } else if (dh0) {
              Wn.multiply_add(rows, da, G, dh0 + off, H);
            }
          }
        });
        if (t.requires_grad(ic)) add_into(t.grad_buffer(ic).data(), dc.data(), BH);
        recurrent_weight_grads(t, iW, ib, g, dA.data(), t.value(ih).data(), out.data());
        t.accumulate(ix, std::move(dA));
      });
}

// ---- GRU (reset after, torch.nn.GRU) -----------------------------------------------------------
// Saved: HH [T·B, 3H] holds r, z (activations) and hh_n = h_{t-1} W_nᵀ + b_hn; N = n.
//   dz = dh ⊙ (h_{t-1} - n),  dn = dh ⊙ (1 - z),  dh_{t-1} = dh ⊙ z + dHH W_hh
//   da_n = dn ⊙ (1 - n²),  dr = da_n ⊙ hh_n,  dhh_n = da_n ⊙ r
//   dxp = [dr ⊙ r(1-r), dz ⊙ z(1-z), da_n];  dHH = [same r, z blocks, dhh_n]
template <class T>
Var<T> gru_sequence(Var<T> xp, Var<T> h0, Var<T> W, Var<T> b, const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence<T>("gru_sequence", 3, xp, h0, nullptr, W, b, lengths);
  const std::size_t B = g.B, H = g.H, G = g.G, steps = g.T, BH = B * H;
  Tensor<T> HH = Tensor<T>::from_shape({steps * B, G});
  Tensor<T> N = Tensor<T>::from_shape({steps * B, H});
  Tensor<T> out = Tensor<T>::from_shape({steps * B, H});
  T* Y = out.data();
  const T* X = xp.value().data();
  rows_plus_bias(HH.data(), static_cast<const T*>(nullptr), b.value().data(), steps * B, G);
  const auto Wt = step_weight(W.value().data(), H, G, true, g);
  const T* h0p = h0.value().data();
  for_batch_blocks(B, Wt, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t s = 0; s < steps; ++s) {
      const T* hp = s ? Y + (s - 1) * BH : h0p;
      T* hh = HH.data() + s * B * G;
      Wt.multiply_add(r1 - r0, hp + r0 * H, H, hh + r0 * G, G);
      for (std::size_t r = r0; r < r1; ++r) {
        if (!g.live(r, s)) {  // padding: zero output
          std::fill_n(Y + s * BH + r * H, H, T(0));
          continue;
        }
        T* hr = hh + r * G;
        const T* xr = X + (s * B + r) * G;
        for (std::size_t j = 0; j < 2 * H; ++j) hr[j] += xr[j];
        sigmoid_inplace(hr, 2 * H);  // r, z
        T* n = N.data() + s * BH + r * H;
        for (std::size_t j = 0; j < H; ++j) n[j] = xr[2 * H + j] + hr[j] * hr[2 * H + j];
        tanh_inplace(n, H);
        const T* z = hr + H;
        const T* hpr = hp + r * H;
        T* h = Y + s * BH + r * H;
        for (std::size_t j = 0; j < H; ++j) h[j] = z[j] * hpr[j] + (T(1) - z[j]) * n[j];  // exactly h_{t-1} when z = 1
      }
    }
  });
  auto ix = xp.id(), ih = h0.id(), iW = W.id(), ib = b.id();
  return xp.tape().record(
      "gru_sequence", std::move(out), {xp, h0, W, b},
      [ix, ih, iW, ib, g, HH = std::move(HH), N = std::move(N)](Tape<T>& t, const Tensor<T>& Gr, const Tensor<T>& out) {
        const std::size_t B = g.B, H = g.H, G = g.G, BH = g.B * g.H;
        const T* Y = out.data();
        const T* dY = Gr.data();
        const auto Wn = step_weight(t.value(iW).data(), G, H, false, g);
        const T* h0 = t.value(ih).data();
        T* dh0 = t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr;
        Tensor<T> dX = Tensor<T>::from_shape({g.T * B, G});
        Tensor<T> dHH = Tensor<T>::from_shape({g.T * B, G});
        Tensor<T> dh = Tensor<T>::from_shape({B, H});
        for_batch_blocks(B, Wn, [&](std::size_t r0, std::size_t r1) {
          const std::size_t rows = r1 - r0, off = r0 * H;
          std::copy_n(dY + (g.T - 1) * BH + off, rows * H, dh.data() + off);
          for (std::size_t s = g.T; s-- > 0;) {
            const T* hp = s ? Y + (s - 1) * BH : h0;
            for (std::size_t r = r0; r < r1; ++r) {
              const T* hr = HH.data() + (s * B + r) * G;
              const T *rr = hr, *z = hr + H, *hhn = hr + 2 * H;
              const T* n = N.data() + s * BH + r * H;
              const T* hpr = hp + r * H;
              T* dx = dX.data() + (s * B + r) * G;
              T* dhh = dHH.data() + (s * B + r) * G;
              T* dhr = dh.data() + r * H;
              const T* dprev = s ? dY + (s - 1) * BH + r * H : nullptr;
              if (!g.live(r, s)) {  // padding: no gradient through this step
                std::fill_n(dx, G, T(0));
                std::fill_n(dhh, G, T(0));
                for (std::size_t j = 0; j < H; ++j) dhr[j] = dprev ? dprev[j] : T(0);
                continue;
              }
              for (std::size_t j = 0; j < H; ++j) {
                const T dhv = dhr[j];
                const T dz = dhv * (hpr[j] - n[j]);
                const T dan = dhv * (T(1) - z[j]) * (T(1) - n[j] * n[j]);
                const T dar = dan * hhn[j] * rr[j] * (T(1) - rr[j]);
                const T daz = dz * z[j] * (T(1) - z[j]);
                dx[j] = dhh[j] = dar;
                dx[H + j] = dhh[H + j] = daz;
                dx[2 * H + j] = dan;
                dhh[2 * H + j] = dan * rr[j];
                dhr[j] = dhv * z[j] + (dprev ? dprev[j] : T(0));  // dh_{t-1}, direct part
              }
            }
            const T* dhh = dHH.data() + (s * B + r0) * G;
            if (s > 0) {
              Wn.multiply_add(rows, dhh, G, dh.data() + off, H);
            } else if (dh0) {
              add_into(dh0 + off, dh.data() + off, rows * H);
              Wn.multiply_add(rows, dhh, G, dh0 + off, H);
            }
          }
        });
        recurrent_weight_grads(t, iW, ib, g, dHH.data(), h0, Y);
        t.accumulate(ix, std::move(dX));
      });
}

// ---- GRU (reset before, the seeds' and Keras' default) -------------------------------------------
// [r z] = σ(xp_{r,z} + h_{t-1} U_{r,z}ᵀ + b_h{r,z});  n = tanh(xp_n + (r⊙h_{t-1}) U_nᵀ + b_hn)
// Two products per step (U_{r,z} = rows [0, 2H) of W_hh, U_n = rows [2H, 3H)). Saved: RZ = r, z;
// RH = r⊙h_{t-1}; N = n. Backward:
//   dz = dh ⊙ (h_{t-1} - n),  da_n = dh ⊙ (1 - z) ⊙ (1 - n²),  dRH = da_n U_n
//   da_r = dRH ⊙ h_{t-1} ⊙ r(1-r),  da_z = dz ⊙ z(1-z)
//   dh_{t-1} = dh ⊙ z + dRH ⊙ r + [da_r da_z] U_{r,z}
//   dU_{r,z} += Σ [da_r da_z]ᵀ h_{t-1},  dU_n += Σ da_nᵀ RH,  db_hh += Σ [da_r da_z da_n] = Σ dxp
template <class T>
Var<T> gru_sequence_reset_before(Var<T> xp, Var<T> h0, Var<T> W, Var<T> b, const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence<T>("gru_sequence_reset_before", 3, xp, h0, nullptr, W, b, lengths);
  const std::size_t B = g.B, H = g.H, G = g.G, steps = g.T, BH = B * H, H2 = 2 * H;
  Tensor<T> RZ = Tensor<T>::from_shape({steps * B, H2});
  Tensor<T> RH = Tensor<T>::from_shape({steps * B, H});
  Tensor<T> N = Tensor<T>::from_shape({steps * B, H});
  Tensor<T> out = Tensor<T>::from_shape({steps * B, H});
  T* Y = out.data();
  const T* X = xp.value().data();
  const T* bp = b.value().data();
  const auto Urz_t = step_weight(W.value().data(), H, H2, true, g);
  const auto Un_t = step_weight(W.value().data() + H2 * H, H, H, true, g);
  const T* h0p = h0.value().data();
  for_batch_blocks(B, Urz_t, [&](std::size_t r0, std::size_t r1) {
    const std::size_t rows = r1 - r0;
    for (std::size_t s = 0; s < steps; ++s) {
      const T* hp = s ? Y + (s - 1) * BH : h0p;
      T* rz = RZ.data() + s * B * H2;
      rows_plus_bias(rz + r0 * H2, static_cast<const T*>(nullptr), bp, rows, H2);
      Urz_t.multiply_add(rows, hp + r0 * H, H, rz + r0 * H2, H2);
      T* rh = RH.data() + s * BH;
      for (std::size_t r = r0; r < r1; ++r) {
        T* rzr = rz + r * H2;
        const T* xr = X + (s * B + r) * G;
        for (std::size_t j = 0; j < H2; ++j) rzr[j] += xr[j];
        sigmoid_inplace(rzr, H2);
        for (std::size_t j = 0; j < H; ++j) rh[r * H + j] = rzr[j] * hp[r * H + j];
      }
      T* n = N.data() + s * BH;
      rows_plus_bias(n + r0 * H, static_cast<const T*>(nullptr), bp + H2, rows, H);
      Un_t.multiply_add(rows, rh + r0 * H, H, n + r0 * H, H);
      for (std::size_t r = r0; r < r1; ++r) {
        if (!g.live(r, s)) {  // padding: zero output
          std::fill_n(Y + s * BH + r * H, H, T(0));
          continue;
        }
        T* nr = n + r * H;
        const T* xr = X + (s * B + r) * G + H2;
        for (std::size_t j = 0; j < H; ++j) nr[j] += xr[j];
        tanh_inplace(nr, H);
        const T* z = rz + r * H2 + H;
        const T* hpr = hp + r * H;
        T* h = Y + s * BH + r * H;
        for (std::size_t j = 0; j < H; ++j) h[j] = z[j] * hpr[j] + (T(1) - z[j]) * nr[j];  // exactly h_{t-1} when z = 1
      }
    }
  });
  auto ix = xp.id(), ih = h0.id(), iW = W.id(), ib = b.id();
  return xp.tape().record(
      "gru_sequence_reset_before", std::move(out), {xp, h0, W, b},
      [ix, ih, iW, ib, g, RZ = std::move(RZ), RH = std::move(RH), N = std::move(N)](Tape<T>& t, const Tensor<T>& Gr,
                                                                                    const Tensor<T>& out) {
        const std::size_t B = g.B, H = g.H, G = g.G, BH = g.B * g.H, H2 = 2 * g.H;
        const T* Y = out.data();
        const T* dY = Gr.data();
        const auto Urz = step_weight(t.value(iW).data(), H2, H, false, g);
        const auto Un = step_weight(t.value(iW).data() + H2 * H, H, H, false, g);
        const T* h0 = t.value(ih).data();
        T* dh0 = t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr;
        Tensor<T> dX = Tensor<T>::from_shape({g.T * B, G});
        Tensor<T> dh = Tensor<T>::from_shape({B, H}), dRH = Tensor<T>::from_shape({B, H});
        for_batch_blocks(B, Urz, [&](std::size_t r0, std::size_t r1) {
          const std::size_t rows = r1 - r0, off = r0 * H;
          std::copy_n(dY + (g.T - 1) * BH + off, rows * H, dh.data() + off);
          for (std::size_t s = g.T; s-- > 0;) {
            const T* hp = s ? Y + (s - 1) * BH : h0;
            T* dx = dX.data() + s * B * G;
            for (std::size_t r = r0; r < r1; ++r) {  // da_n, and dz into the z block for now
              const T* z = RZ.data() + (s * B + r) * H2 + H;
              const T* n = N.data() + s * BH + r * H;
              const T* hpr = hp + r * H;
              const T* dhr = dh.data() + r * H;
              T* dxr = dx + r * G;
              if (!g.live(r, s)) {  // padding: no gradient through this step
                std::fill_n(dxr, G, T(0));
                continue;
              }
              for (std::size_t j = 0; j < H; ++j) {
                dxr[H + j] = dhr[j] * (hpr[j] - n[j]) * z[j] * (T(1) - z[j]);   // da_z
                dxr[H2 + j] = dhr[j] * (T(1) - z[j]) * (T(1) - n[j] * n[j]);   // da_n
              }
            }
            // dRH = da_n U_n
            std::fill_n(dRH.data() + off, rows * H, T(0));
            Un.multiply_add(rows, dx + r0 * G + H2, G, dRH.data() + off, H);
            for (std::size_t r = r0; r < r1; ++r) {
              const T* rr = RZ.data() + (s * B + r) * H2;
              const T* z = rr + H;
              const T* hpr = hp + r * H;
              const T* drh = dRH.data() + r * H;
              T* dhr = dh.data() + r * H;
              T* dxr = dx + r * G;
              const T* dprev = s ? dY + (s - 1) * BH + r * H : nullptr;
              if (!g.live(r, s)) {
                for (std::size_t j = 0; j < H; ++j) dhr[j] = dprev ? dprev[j] : T(0);
                continue;
              }
              for (std::size_t j = 0; j < H; ++j) {
                dxr[j] = drh[j] * hpr[j] * rr[j] * (T(1) - rr[j]);  // da_r
                dhr[j] = dhr[j] * z[j] + drh[j] * rr[j] + (dprev ? dprev[j] : T(0));
              }
            }
            // dh_{t-1} += [da_r da_z] U_{r,z}
            T* target = dh.data() + off;
            if (s == 0) {
              if (!dh0) break;
              target = dh0 + off;
              add_into(target, dh.data() + off, rows * H);
            }
            Urz.multiply_add(rows, dx + r0 * G, G, target, H);
          }
        });
        if (t.requires_grad(iW)) {
          T* dW = t.grad_buffer(iW).data();
          gemm_accumulate(true, false, H2, H, B, dX.data(), G, h0, H, dW, H);
          if (g.T > 1) gemm_accumulate(true, false, H2, H, (g.T - 1) * B, dX.data() + B * G, G, Y, H, dW, H);
          gemm_accumulate(true, false, H, H, g.T * B, dX.data() + H2, G, RH.data(), H, dW + H2 * H, H);
        }
        if (t.requires_grad(ib)) add_column_sums(t.grad_buffer(ib).data(), dX.data(), g.T * B, G);
        t.accumulate(ix, std::move(dX));
      });
}

// ---- linear --------------------------------------------------------------------------------
// y = x Wᵀ + b;  dx += g W,  dW += gᵀ x,  db += Σ_rows g
// A parameter W is packed once per tape for all the calls that use it (a decoder's readout at
// every step), and its gradient is one GEMM over the rows of every call (Tape::add_product_grad).
template <class T>
Var<T> linear(Var<T> x, Var<T> W, Var<T> b) {
  if (x.ndim() != 2 || W.ndim() != 2 || x.dim(1) != W.dim(1) || b.size() != W.dim(0))
    throw ShapeError("linear", "x " + shape_str(x.shape()) + ", W " + shape_str(W.shape()) + ", b " + shape_str(b.shape()));
  const std::size_t N = x.dim(0), D = x.dim(1), M = W.dim(0);
  Tensor<T> y = Tensor<T>::from_shape({N, M});
  rows_plus_bias(y.data(), static_cast<const T*>(nullptr), b.value().data(), N, M);
  detail::multiply_add_node(x.tape(), W.id(), true, false, N, x.value().data(), D, y.data(), M);
  auto ix = x.id(), iW = W.id(), ib = b.id();
  return x.tape().record("linear", std::move(y), {x, W, b}, [ix, iW, ib, N, D, M](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    if (!N || !M) return;
    if (D && t.requires_grad(ix)) detail::multiply_add_node(t, iW, false, false, N, g.data(), M, t.grad_buffer(ix).data(), D);
    if (D && t.requires_grad(iW)) t.add_product_grad(iW, g.data(), M, M, t.value(ix).data(), D, D, N);
    if (t.requires_grad(ib)) add_column_sums(t.grad_buffer(ib).data(), g.data(), N, M);
  });
}

#define TAPENET_INSTANTIATE_RNN(T)                                                                     \
  template Var<T> elman_tanh_sequence(Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&);       \
  template Var<T> lstm_sequence(Var<T>, Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&);     \
  template Var<T> gru_sequence(Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&);              \
  template Var<T> gru_sequence_reset_before(Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&); \
  template Var<T> linear(Var<T>, Var<T>, Var<T>);
TAPENET_INSTANTIATE_RNN(float)
TAPENET_INSTANTIATE_RNN(double)

}  // namespace tapenet
