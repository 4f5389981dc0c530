// gru_sequence and gru_sequence_reset_before (see ops_rnn.hpp): for each placement of the
// reset gate, the forward step, the backward step and the op that records them, with the
// equations above each piece.
#include "autograd/ops_rnn.hpp"

#include "autograd/ops_rnn_detail.hpp"

namespace tapenet {

using namespace detail::rnn;
using detail::gemm_accumulate;
using detail::PackedWeight;

namespace {

// h_t = z⊙h_{t-1} + (1-z)⊙n on one row; exactly h_{t-1} when z = 1.
template <class T>
void interpolate_row(const T* z, const T* h_prev, const T* n, T* h, std::size_t H) {
  for (std::size_t j = 0; j < H; ++j) h[j] = z[j] * h_prev[j] + (T(1) - z[j]) * n[j];
}

// ---- reset after (torch.nn.GRU) ----------------------------------------------------------------
// [r z] = σ(xp_{r,z} + hh_{r,z}),  n = tanh(xp_n + r⊙hh_n),  hh = h_{t-1} W_hhᵀ + b_hh.
// Saved: HH [T·B, 3H] holds r, z (activations) and hh_n; N = n.

template <class T>
struct GRUSaved {
  Tensor<T> HH, N;
};

// Rows [r0, r1) through every step. HH already holds b_hh; Y receives h_1 .. h_T.
template <class T>
void gru_forward_rows(const Geometry& g, const PackedWeight<T>& Wt, const T* X, const T* h0, GRUSaved<T>& saved,
                      T* Y, std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, BH = g.BH();
  for (std::size_t s = 0; s < g.T; ++s) {
    const T* hp = s ? Y + (s - 1) * BH : h0;
    T* hh = saved.HH.data() + s * B * G;
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
      T* n = saved.N.data() + s * BH + r * H;
      for (std::size_t j = 0; j < H; ++j) n[j] = xr[2 * H + j] + hr[j] * hr[2 * H + j];
      tanh_inplace(n, H);
      interpolate_row(hr + H, hp + r * H, n, Y + s * BH + r * H, H);
    }
  }
}

// One live row at one step, backward. dh is dL/dh_t on entry, the direct part of dL/dh_{t-1}
// on exit (dprev, the output gradient of step t-1, included; the dHH W_hh part comes after):
//   dz = dh ⊙ (h_{t-1} - n),  dn = dh ⊙ (1 - z),  dh_{t-1} = dh ⊙ z + dHH W_hh
//   da_n = dn ⊙ (1 - n²),  dr = da_n ⊙ hh_n,  dhh_n = da_n ⊙ r
//   dxp = [dr ⊙ r(1-r), dz ⊙ z(1-z), da_n];  dHH = [same r, z blocks, dhh_n]
template <class T>
void gru_row_backward(const T* hh, const T* n, const T* h_prev, const T* dprev, T* dh, T* dx, T* dhh, std::size_t H) {
  const T *rr = hh, *z = hh + H, *hhn = hh + 2 * H;
  for (std::size_t j = 0; j < H; ++j) {
    const T dhv = dh[j];
    const T dz = dhv * (h_prev[j] - n[j]);
    const T dan = dhv * (T(1) - z[j]) * (T(1) - n[j] * n[j]);
    const T dar = dan * hhn[j] * rr[j] * (T(1) - rr[j]);
    const T daz = dz * z[j] * (T(1) - z[j]);
    dx[j] = dhh[j] = dar;
    dx[H + j] = dhh[H + j] = daz;
    dx[2 * H + j] = dan;
    dhh[2 * H + j] = dan * rr[j];
    dh[j] = dhv * z[j] + (dprev ? dprev[j] : T(0));  // dh_{t-1}, direct part
  }
}

// The buffers of a GRU backward pass: dY the output gradient, dh0 (null when h0 needs no
// gradient), dX the input-projection gradient, dHH the recurrent pre-activation gradient
// (reset after only), dh the running state gradient and dRH that of r⊙h (reset before only).
template <class T>
struct GRUGrads {
  const T* dY;
  T* dh0;
  Tensor<T> dX, dHH, dh, dRH;
};

// Rows [r0, r1) from step T-1 down to 0.
template <class T>
void gru_backward_rows(const Geometry& g, const PackedWeight<T>& Wn, const GRUSaved<T>& saved, const T* Y,
                       const T* h0, GRUGrads<T>& d, std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, BH = g.BH(), rows = r1 - r0, off = r0 * H;
  std::copy_n(d.dY + (g.T - 1) * BH + off, rows * H, d.dh.data() + off);
  for (std::size_t s = g.T; s-- > 0;) {
    const T* hp = s ? Y + (s - 1) * BH : h0;
    for (std::size_t r = r0; r < r1; ++r) {
      T* dx = d.dX.data() + (s * B + r) * G;
      T* dhh = d.dHH.data() + (s * B + r) * G;
      T* dhr = d.dh.data() + r * H;
      const T* dprev = s ? d.dY + (s - 1) * BH + r * H : nullptr;
      if (!g.live(r, s)) {  // padding: no gradient through this step
        std::fill_n(dx, G, T(0));
        std::fill_n(dhh, G, T(0));
        for (std::size_t j = 0; j < H; ++j) dhr[j] = dprev ? dprev[j] : T(0);
        continue;
      }
      gru_row_backward(saved.HH.data() + (s * B + r) * G, saved.N.data() + s * BH + r * H, hp + r * H, dprev, dhr,
                       dx, dhh, H);
    }
    const T* dhh = d.dHH.data() + (s * B + r0) * G;
    if (s > 0) {
      Wn.multiply_add(rows, dhh, G, d.dh.data() + off, H);
    } else if (d.dh0) {
      add_into(d.dh0 + off, d.dh.data() + off, rows * H);
      Wn.multiply_add(rows, dhh, G, d.dh0 + off, H);
    }
  }
}

// ---- reset before (Cho et al. 2014; Keras' default) -----------------------------------------------
// [r z] = σ(xp_{r,z} + h_{t-1} U_{r,z}ᵀ + b_h{r,z});  n = tanh(xp_n + (r⊙h_{t-1}) U_nᵀ + b_hn)
// Two products per step (U_{r,z} = rows [0, 2H) of W_hh, U_n = rows [2H, 3H)). Saved: RZ = r, z;
// RH = r⊙h_{t-1}; N = n.

template <class T>
struct GRUResetBeforeSaved {
  Tensor<T> RZ, RH, N;
};

// The step products h U_{r,z}ᵀ and (r⊙h) U_nᵀ (forward), or da U_{r,z} and da_n U_n (backward).
template <class T>
struct GRUResetBeforeWeights {
  PackedWeight<T> Urz, Un;
};

template <class T>
GRUResetBeforeWeights<T> reset_before_weights(const T* W, bool transposed, const Geometry& g) {
  const std::size_t H = g.H, H2 = 2 * g.H;
  return {transposed ? step_weight(W, H, H2, true, g) : step_weight(W, H2, H, false, g),
          step_weight(W + H2 * H, H, H, transposed, g)};
}

// Rows [r0, r1) through every step; Y receives h_1 .. h_T.
template <class T>
void gru_reset_before_forward_rows(const Geometry& g, const GRUResetBeforeWeights<T>& w, const T* X, const T* bias,
                                   const T* h0, GRUResetBeforeSaved<T>& saved, T* Y, std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, BH = g.BH(), H2 = 2 * H, rows = r1 - r0;
  for (std::size_t s = 0; s < g.T; ++s) {
    const T* hp = s ? Y + (s - 1) * BH : h0;
    // [r z] = σ(xp_{r,z} + b_h{r,z} + h_{t-1} U_{r,z}ᵀ);  RH = r⊙h_{t-1}
    T* rz = saved.RZ.data() + s * B * H2;
    rows_plus_bias(rz + r0 * H2, static_cast<const T*>(nullptr), bias, rows, H2);
    w.Urz.multiply_add(rows, hp + r0 * H, H, rz + r0 * H2, H2);
    T* rh = saved.RH.data() + s * BH;
    for (std::size_t r = r0; r < r1; ++r) {
      T* rzr = rz + r * H2;
      const T* xr = X + (s * B + r) * G;
      for (std::size_t j = 0; j < H2; ++j) rzr[j] += xr[j];
      sigmoid_inplace(rzr, H2);
      for (std::size_t j = 0; j < H; ++j) rh[r * H + j] = rzr[j] * hp[r * H + j];
    }
    // n = tanh(xp_n + b_hn + RH U_nᵀ);  h_t = z⊙h_{t-1} + (1-z)⊙n
    T* n = saved.N.data() + s * BH;
    rows_plus_bias(n + r0 * H, static_cast<const T*>(nullptr), bias + H2, rows, H);
    w.Un.multiply_add(rows, rh + r0 * H, H, n + r0 * H, H);
    for (std::size_t r = r0; r < r1; ++r) {
      if (!g.live(r, s)) {  // padding: zero output
        std::fill_n(Y + s * BH + r * H, H, T(0));
        continue;
      }
      T* nr = n + r * H;
      const T* xr = X + (s * B + r) * G + H2;
      for (std::size_t j = 0; j < H; ++j) nr[j] += xr[j];
      tanh_inplace(nr, H);
      interpolate_row(rz + r * H2 + H, hp + r * H, nr, Y + s * BH + r * H, H);
    }
  }
}

// Backward, first half of step s on rows [r0, r1): the z and n blocks of dxp.
//   dz = dh ⊙ (h_{t-1} - n),  da_z = dz ⊙ z(1-z),  da_n = dh ⊙ (1 - z) ⊙ (1 - n²)
template <class T>
void reset_before_dz_dn(const Geometry& g, const GRUResetBeforeSaved<T>& saved, const T* hp, GRUGrads<T>& d,
                        std::size_t s, std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, H2 = 2 * H;
  T* dx = d.dX.data() + s * B * G;
  for (std::size_t r = r0; r < r1; ++r) {
    const T* z = saved.RZ.data() + (s * B + r) * H2 + H;
    const T* n = saved.N.data() + s * g.BH() + r * H;
    const T* hpr = hp + r * H;
    const T* dhr = d.dh.data() + r * H;
    T* dxr = dx + r * G;
    if (!g.live(r, s)) {  // padding: no gradient through this step
      std::fill_n(dxr, G, T(0));
      continue;
    }
    for (std::size_t j = 0; j < H; ++j) {
      dxr[H + j] = dhr[j] * (hpr[j] - n[j]) * z[j] * (T(1) - z[j]);  // da_z
      dxr[H2 + j] = dhr[j] * (T(1) - z[j]) * (T(1) - n[j] * n[j]);  // da_n
    }
  }
}

// Backward, second half of step s on rows [r0, r1), given dRH = da_n U_n:
//   da_r = dRH ⊙ h_{t-1} ⊙ r(1-r);  dh_{t-1} = dh ⊙ z + dRH ⊙ r + dY_{t-1}  (+ [da_r da_z] U_{r,z} later)
template <class T>
void reset_before_dr_dh(const Geometry& g, const GRUResetBeforeSaved<T>& saved, const T* hp, GRUGrads<T>& d,
                        std::size_t s, std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, H2 = 2 * H;
  T* dx = d.dX.data() + s * B * G;
  for (std::size_t r = r0; r < r1; ++r) {
    const T* rr = saved.RZ.data() + (s * B + r) * H2;
    const T* z = rr + H;
    const T* hpr = hp + r * H;
    const T* drh = d.dRH.data() + r * H;
    T* dhr = d.dh.data() + r * H;
    T* dxr = dx + r * G;
    const T* dprev = s ? d.dY + (s - 1) * g.BH() + r * H : nullptr;
    if (!g.live(r, s)) {
      for (std::size_t j = 0; j < H; ++j) dhr[j] = dprev ? dprev[j] : T(0);
      continue;
    }
    for (std::size_t j = 0; j < H; ++j) {
      dxr[j] = drh[j] * hpr[j] * rr[j] * (T(1) - rr[j]);  // da_r
      dhr[j] = dhr[j] * z[j] + drh[j] * rr[j] + (dprev ? dprev[j] : T(0));
    }
  }
}

// Rows [r0, r1) from step T-1 down to 0.
template <class T>
void gru_reset_before_backward_rows(const Geometry& g, const GRUResetBeforeWeights<T>& w,
                                    const GRUResetBeforeSaved<T>& saved, const T* Y, const T* h0, GRUGrads<T>& d,
                                    std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, BH = g.BH(), H2 = 2 * H, rows = r1 - r0, off = r0 * H;
  std::copy_n(d.dY + (g.T - 1) * BH + off, rows * H, d.dh.data() + off);
  for (std::size_t s = g.T; s-- > 0;) {
    const T* hp = s ? Y + (s - 1) * BH : h0;
    T* dx = d.dX.data() + s * B * G;
    reset_before_dz_dn(g, saved, hp, d, s, r0, r1);
    // dRH = da_n U_n
    std::fill_n(d.dRH.data() + off, rows * H, T(0));
    w.Un.multiply_add(rows, dx + r0 * G + H2, G, d.dRH.data() + off, H);
    reset_before_dr_dh(g, saved, hp, d, s, r0, r1);
    // dh_{t-1} += [da_r da_z] U_{r,z}
    T* target = d.dh.data() + off;
    if (s == 0) {
      if (!d.dh0) break;
      target = d.dh0 + off;
      add_into(target, d.dh.data() + off, rows * H);
    }
    w.Urz.multiply_add(rows, dx + r0 * G, G, target, H);
  }
}

// dU_{r,z} += Σ [da_r da_z]ᵀ h_{t-1},  dU_n += Σ da_nᵀ RH,  db_hh += Σ [da_r da_z da_n] = Σ dxp
template <class T>
void reset_before_weight_grads(Tape<T>& t, std::uint32_t iW, std::uint32_t ib, const Geometry& g, const T* dX,
                               const T* h0, const T* Y, const T* RH) {
  const std::size_t B = g.B, H = g.H, G = g.G, H2 = 2 * H;
  if (t.requires_grad(iW)) {
    T* dW = t.grad_buffer(iW).data();
    gemm_accumulate(true, false, H2, H, B, dX, G, h0, H, dW, H);
    if (g.T > 1) gemm_accumulate(true, false, H2, H, (g.T - 1) * B, dX + B * G, G, Y, H, dW, H);
    gemm_accumulate(true, false, H, H, g.T * B, dX + H2, G, RH, H, dW + H2 * H, H);
  }
  if (t.requires_grad(ib)) add_column_sums(t.grad_buffer(ib).data(), dX, g.T * B, G);
}

}  // namespace

template <class T>
Var<T> gru_sequence(Var<T> xp, Var<T> h0, Var<T> W, Var<T> b, const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence<T>("gru_sequence", 3, xp, h0, nullptr, W, b, lengths);
  const std::size_t rows = g.T * g.B;
  GRUSaved<T> saved{Tensor<T>::from_shape({rows, g.G}), Tensor<T>::from_shape({rows, g.H})};
  Tensor<T> out = Tensor<T>::from_shape({rows, g.H});
  T* Y = out.data();
  const T *X = xp.value().data(), *h0p = h0.value().data();
  rows_plus_bias(saved.HH.data(), static_cast<const T*>(nullptr), b.value().data(), rows, g.G);
  const auto Wt = step_weight(W.value().data(), g.H, g.G, true, g);
  for_batch_blocks(g.B, Wt, [&](std::size_t r0, std::size_t r1) { gru_forward_rows(g, Wt, X, h0p, saved, Y, r0, r1); });
  auto ix = xp.id(), ih = h0.id(), iW = W.id(), ib = b.id();
  return xp.tape().record(
      "gru_sequence", std::move(out), {xp, h0, W, b},
      [ix, ih, iW, ib, g, saved = std::move(saved)](Tape<T>& t, const Tensor<T>& Gr, const Tensor<T>& out) {
        const std::size_t rows = g.T * g.B;
        const auto Wn = step_weight(t.value(iW).data(), g.G, g.H, false, g);
        const T* h0 = t.value(ih).data();
        GRUGrads<T> d{Gr.data(), t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr,
                      Tensor<T>::from_shape({rows, g.G}), Tensor<T>::from_shape({rows, g.G}),
                      Tensor<T>::from_shape({g.B, g.H}), Tensor<T>()};
        for_batch_blocks(g.B, Wn, [&](std::size_t r0, std::size_t r1) {
          gru_backward_rows(g, Wn, saved, out.data(), h0, d, r0, r1);
        });
        recurrent_weight_grads(t, iW, ib, g, d.dHH.data(), h0, out.data());
        t.accumulate(ix, std::move(d.dX));
      });
}

template <class T>
Var<T> gru_sequence_reset_before(Var<T> xp, Var<T> h0, Var<T> W, Var<T> b, const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence<T>("gru_sequence_reset_before", 3, xp, h0, nullptr, W, b, lengths);
  const std::size_t rows = g.T * g.B;
  GRUResetBeforeSaved<T> saved{Tensor<T>::from_shape({rows, 2 * g.H}), Tensor<T>::from_shape({rows, g.H}),
                               Tensor<T>::from_shape({rows, g.H})};
  Tensor<T> out = Tensor<T>::from_shape({rows, g.H});
  T* Y = out.data();
  const T *X = xp.value().data(), *bias = b.value().data(), *h0p = h0.value().data();
  const GRUResetBeforeWeights<T> w = reset_before_weights(W.value().data(), true, g);
  for_batch_blocks(g.B, w.Urz, [&](std::size_t r0, std::size_t r1) {
    gru_reset_before_forward_rows(g, w, X, bias, h0p, saved, Y, r0, r1);
  });
  auto ix = xp.id(), ih = h0.id(), iW = W.id(), ib = b.id();
  return xp.tape().record(
      "gru_sequence_reset_before", std::move(out), {xp, h0, W, b},
      [ix, ih, iW, ib, g, saved = std::move(saved)](Tape<T>& t, const Tensor<T>& Gr, const Tensor<T>& out) {
        const GRUResetBeforeWeights<T> w = reset_before_weights(t.value(iW).data(), false, g);
        const T* h0 = t.value(ih).data();
        GRUGrads<T> d{Gr.data(), t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr,
                      Tensor<T>::from_shape({g.T * g.B, g.G}), Tensor<T>(), Tensor<T>::from_shape({g.B, g.H}),
                      Tensor<T>::from_shape({g.B, g.H})};
        for_batch_blocks(g.B, w.Urz, [&](std::size_t r0, std::size_t r1) {
          gru_reset_before_backward_rows(g, w, saved, out.data(), h0, d, r0, r1);
        });
        reset_before_weight_grads(t, iW, ib, g, d.dX.data(), h0, out.data(), saved.RH.data());
        t.accumulate(ix, std::move(d.dX));
      });
}

#define TAPENET_INSTANTIATE_GRU_SEQUENCE(T)                                                                    \
  template Var<T> gru_sequence(Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&); \
  template Var<T> gru_sequence_reset_before(Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&);
TAPENET_INSTANTIATE_GRU_SEQUENCE(float)
TAPENET_INSTANTIATE_GRU_SEQUENCE(double)

}  // namespace tapenet
