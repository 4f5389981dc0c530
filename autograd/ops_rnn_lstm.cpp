// lstm_sequence (see ops_rnn.hpp): the forward step, the backward step and the op that
// records them, with the equations above each piece.
#include "autograd/ops_rnn.hpp"

#include "autograd/ops.hpp"
#include "autograd/ops_rnn_detail.hpp"

namespace tapenet {

using namespace detail::rnn;
using detail::PackedWeight;

namespace {

// What the forward pass keeps for the backward one, [T·B, ·] time-major: A the gate
// activations i, f, g, o; C = c_t; TC = tanh(c_t).
template <class T>
struct LSTMSaved {
  Tensor<T> A, C, TC;
};

// One live row at one step. `a` holds the row's pre-activations [i f g o] and becomes the
// activations:
//   i, f, o = σ(·), g = tanh(·);  c_t = f⊙c_{t-1} + i⊙g;  h_t = o⊙tanh(c_t)
template <class T>
void lstm_row_forward(T* a, const T* c_prev, T* c, T* tc, T* h, std::size_t H) {
  sigmoid_inplace(a, 2 * H);      // i, f
  tanh_inplace(a + 2 * H, H);     // g
  sigmoid_inplace(a + 3 * H, H);  // o
  const T *i = a, *f = a + H, *gg = a + 2 * H;
  for (std::size_t j = 0; j < H; ++j) tc[j] = c[j] = f[j] * c_prev[j] + i[j] * gg[j];
  tanh_inplace(tc, H);
  const T* o = a + 3 * H;
  for (std::size_t j = 0; j < H; ++j) h[j] = o[j] * tc[j];
}

// Rows [r0, r1) through every step: the recurrent product, then each row's gate math. A
// already holds xp + b_hh; Y receives h_1 .. h_T.
template <class T>
void lstm_forward_rows(const Geometry& g, const PackedWeight<T>& Wt, const T* h0, const T* c0, LSTMSaved<T>& saved,
                       T* Y, std::size_t r0, std::size_t r1) {
  const std::size_t H = g.H, G = g.G, BH = g.BH();
  for (std::size_t s = 0; s < g.T; ++s) {
    const T* hp = s ? Y + (s - 1) * BH : h0;
    const T* cp = s ? saved.C.data() + (s - 1) * BH : c0;
    T* a = saved.A.data() + s * g.B * G;
    Wt.multiply_add(r1 - r0, hp + r0 * H, H, a + r0 * G, G);
    for (std::size_t r = r0; r < r1; ++r) {
      T* c = saved.C.data() + s * BH + r * H;
      T* h = Y + s * BH + r * H;
      if (!g.live(r, s)) {  // padding: zero output, the cell carried (c_T holds each row's last c)
        std::fill_n(h, H, T(0));
        std::copy_n(cp + r * H, H, c);
        continue;
      }
      lstm_row_forward(a + r * G, cp + r * H, c, saved.TC.data() + s * BH + r * H, h, H);
    }
  }
}

// One live row at one step, backward. In: dh (dL/dh_t), dc (dL/dc_t from step t+1). Out:
// the pre-activation gradients da [i f g o], and dc becomes dL/dc_{t-1}:
//   do = dh ⊙ tanh(c);  dc += dh ⊙ o ⊙ (1 - tanh²(c))
//   di = dc ⊙ g,  df = dc ⊙ c_{t-1},  dg = dc ⊙ i,  dc_{t-1} = dc ⊙ f
//   da_{i,f,o} = d{i,f,o} ⊙ σ(1 - σ),  da_g = dg ⊙ (1 - g²)
template <class T>
void lstm_row_backward(const T* a, const T* tc, const T* c_prev, const T* dh, T* dc, T* da, std::size_t H) {
  const T *i = a, *f = a + H, *gg = a + 2 * H, *o = a + 3 * H;
  for (std::size_t j = 0; j < H; ++j) {
    const T dhv = dh[j];
    const T dcv = dc[j] + dhv * o[j] * (T(1) - tc[j] * tc[j]);
    da[j] = dcv * gg[j] * i[j] * (T(1) - i[j]);           // da_i
    da[H + j] = dcv * c_prev[j] * f[j] * (T(1) - f[j]);    // da_f
    da[2 * H + j] = dcv * i[j] * (T(1) - gg[j] * gg[j]);   // da_g
    da[3 * H + j] = dhv * tc[j] * o[j] * (T(1) - o[j]);    // da_o
    dc[j] = dcv * f[j];                                    // dc_{t-1}
  }
}

// The buffers of the backward pass: dY the output gradient [(T+1)·B, H] (its last B rows
// are dL/dc_T), dA the pre-activation gradients, dh and dc the running state gradients.
template <class T>
struct LSTMGrads {
  const T* dY;
  T* dh0;  // null when h0 needs no gradient
  Tensor<T> dA, dh, dc;
};

// Rows [r0, r1) from step T-1 down to 0: each row's gate derivatives, then
// dh_{t-1} = dY_{t-1} + dA_t W_hh (into dh0 at t = 0).
template <class T>
void lstm_backward_rows(const Geometry& g, const PackedWeight<T>& Wn, const LSTMSaved<T>& saved, const T* c0,
                        LSTMGrads<T>& d, std::size_t r0, std::size_t r1) {
  const std::size_t B = g.B, H = g.H, G = g.G, BH = g.BH(), rows = r1 - r0, off = r0 * H;
  std::copy_n(d.dY + (g.T - 1) * BH + off, rows * H, d.dh.data() + off);
  std::copy_n(d.dY + g.T * BH + off, rows * H, d.dc.data() + off);
  for (std::size_t s = g.T; s-- > 0;) {
    const T* cp = s ? saved.C.data() + (s - 1) * BH : c0;
    for (std::size_t r = r0; r < r1; ++r) {
      T* dar = d.dA.data() + (s * B + r) * G;
      if (!g.live(r, s)) {  // padding: no gate gradient; dc passes on unchanged
        std::fill_n(dar, G, T(0));
        continue;
      }
      lstm_row_backward(saved.A.data() + (s * B + r) * G, saved.TC.data() + s * BH + r * H, cp + r * H,
                        d.dh.data() + r * H, d.dc.data() + r * H, dar, H);
    }
    const T* da = d.dA.data() + (s * B + r0) * G;
    if (s > 0) {
      std::copy_n(d.dY + (s - 1) * BH + off, rows * H, d.dh.data() + off);
      Wn.multiply_add(rows, da, G, d.dh.data() + off, H);
    } else if (d.dh0) {
      Wn.multiply_add(rows, da, G, d.dh0 + off, H);
    }
  }
}

}  // namespace

template <class T>
LSTMSequenceResult<T> lstm_sequence(Var<T> xp, Var<T> h0, Var<T> c0, Var<T> W, Var<T> b,
                                    const std::vector<std::size_t>& lengths) {
  const Geometry g = check_sequence("lstm_sequence", 4, xp, h0, &c0, W, b, lengths);
  const std::size_t B = g.B, H = g.H, G = g.G, steps = g.T, BH = g.BH();
  LSTMSaved<T> saved{Tensor<T>::from_shape({steps * B, G}), Tensor<T>::from_shape({steps * B, H}),
                     Tensor<T>::from_shape({steps * B, H})};
  // One node holds [h_1 .. h_T; c_T], so the gradients of both reach one backward.
  Tensor<T> packed = Tensor<T>::from_shape({(steps + 1) * B, H});
  T* Y = packed.data();
  rows_plus_bias(saved.A.data(), xp.value().data(), b.value().data(), steps * B, G);
  const auto Wt = step_weight(W.value().data(), H, G, true, g);
  const T *h0p = h0.value().data(), *c0p = c0.value().data();
  for_batch_blocks(B, Wt, [&](std::size_t r0, std::size_t r1) { lstm_forward_rows(g, Wt, h0p, c0p, saved, Y, r0, r1); });
  std::copy(saved.C.data() + (steps - 1) * BH, saved.C.data() + steps * BH, Y + steps * BH);
  auto ix = xp.id(), ih = h0.id(), ic = c0.id(), iW = W.id(), ib = b.id();
  const Var<T> hc = xp.tape().record(
      "lstm_sequence", std::move(packed), {xp, h0, c0, W, b},
      [ix, ih, ic, iW, ib, g, saved = std::move(saved)](Tape<T>& t, const Tensor<T>& Gr, const Tensor<T>& out) {
        const auto Wn = step_weight(t.value(iW).data(), g.G, g.H, false, g);
        LSTMGrads<T> d{Gr.data(), t.requires_grad(ih) ? t.grad_buffer(ih).data() : nullptr,
                       Tensor<T>::from_shape({g.T * g.B, g.G}), Tensor<T>::from_shape({g.B, g.H}),
                       Tensor<T>::from_shape({g.B, g.H})};
        const T* c0p = t.value(ic).data();
        for_batch_blocks(g.B, Wn, [&](std::size_t r0, std::size_t r1) { lstm_backward_rows(g, Wn, saved, c0p, d, r0, r1); });
        if (t.requires_grad(ic)) add_into(t.grad_buffer(ic).data(), d.dc.data(), g.BH());
        recurrent_weight_grads(t, iW, ib, g, d.dA.data(), t.value(ih).data(), out.data());
        t.accumulate(ix, std::move(d.dA));
      });
  return {slice(hc, 0, 0, steps * B), slice(hc, 0, steps * B, (steps + 1) * B)};
}

#define TAPENET_INSTANTIATE_LSTM_SEQUENCE(T)                                                    \
  template LSTMSequenceResult<T> lstm_sequence(Var<T>, Var<T>, Var<T>, Var<T>, Var<T>, \
                                               const std::vector<std::size_t>&);
TAPENET_INSTANTIATE_LSTM_SEQUENCE(float)
TAPENET_INSTANTIATE_LSTM_SEQUENCE(double)

}  // namespace tapenet
