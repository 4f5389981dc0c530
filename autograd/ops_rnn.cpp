// elman_tanh_sequence (see ops_rnn.hpp) and linear, the affine map every fused recurrence is
// fed by. The LSTM and GRU recurrences are in ops_rnn_lstm.cpp and ops_rnn_gru.cpp; the
// pieces they share in ops_rnn_detail.hpp. Forward and backward of each op sit side by side;
// the elementwise gate math is vectorised with xsimd (σ, tanh) and plain loops the compiler
// vectorises (products and sums), all in place in a few preallocated buffers.
#include "autograd/ops_rnn.hpp"

#include "autograd/node_products.hpp"
#include "autograd/ops_rnn_detail.hpp"

namespace tapenet {

using namespace detail::rnn;

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
      // Row by row, so which values take tanh_inplace's scalar tail does not depend on the
      // row split (ops_rnn_detail.hpp).
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

// ---- linear --------------------------------------------------------------------------------
// y = x Wᵀ + b;  dx += g W,  dW += gᵀ x,  db += Σ_rows g
// A parameter W is packed once per tape for all the calls that use it (a decoder's readout at
// every step), and its gradient is one GEMM over the rows of every call (Tape::add_product_grad).
template <class T>
Var<T> linear(Var<T> x, Var<T> W, Var<T> b) {
  x.tape().check_inputs("linear", {x, W, b});  // the product reads W's node on x's tape before recording
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

#define TAPENET_INSTANTIATE_RNN(T)                                                                \
  template Var<T> elman_tanh_sequence(Var<T>, Var<T>, Var<T>, Var<T>, const std::vector<std::size_t>&); \
  template Var<T> linear(Var<T>, Var<T>, Var<T>);
TAPENET_INSTANTIATE_RNN(float)
TAPENET_INSTANTIATE_RNN(double)

}  // namespace tapenet
