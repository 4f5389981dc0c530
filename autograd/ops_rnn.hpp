/// @file
/// Fused whole-sequence recurrences: one tape node runs a recurrent layer over all T steps.
///
/// They take the input projections of the whole sequence, precomputed by one GEMM
/// (xp = x W_ihᵀ + b_ih, [T·B, G·H], time-major: rows t·B .. t·B+B-1 are step t), and add
/// only the recurrent part per step: one GEMM h_{t-1} W_hhᵀ [B, G·H] for all gates, then one
/// fused vectorised loop for the gate math. Backward walks the steps in reverse with one
/// GEMM per step for dh_{t-1} and fused gate derivatives, writes every pre-activation
/// gradient into one [T·B, G·H] buffer, and then forms the weight gradient with a single
/// GEMM over all T·B rows (dW_hh += dAᵀ [h_0 .. h_{T-1}], beta = 1) instead of T small ones.
/// The gate layouts and equations are those of layers/cells.hpp (PyTorch's order):
///
/// @code{.unparsed}
///   elman_tanh_sequence  h_t = tanh(xp_t + h_{t-1} W_hhᵀ + b_hh)
///   lstm_sequence        [i f g o] = xp_t + h_{t-1} W_hhᵀ + b_hh
///                        i, f, o = σ(·), g = tanh(·);  c_t = f⊙c_{t-1} + i⊙g;  h_t = o⊙tanh(c_t)
///   gru_sequence         [r z] = σ(xp_{r,z} + h_{t-1} W_{r,z}ᵀ + b_h{r,z})
///   (reset after)        n = tanh(xp_n + r⊙(h_{t-1} W_nᵀ + b_hn));  h_t = z⊙h_{t-1} + (1-z)⊙n
///   gru_sequence_reset_before   the same but n = tanh(xp_n + (r⊙h_{t-1}) W_nᵀ + b_hn)
///                        (two GEMMs per step: W_{r,z} = rows [0, 2H), W_n = rows [2H, 3H))
/// @endcode
///
/// Shapes: xp [T·B, G·H], h0 and c0 [B, H], W_hh [G·H, H], b_hh [1, G·H]. The result holds
/// h_1 .. h_T in rows 0 .. T·B-1 ([T·B, H]); lstm_sequence also returns c_T ([B, H]), see
/// LSTMSequenceResult. Every input may require a gradient. Instantiated for float and double.
///
/// Padded batches: with `lengths` (one per row b, each in 1..T; empty: all T), row b runs
/// steps 0 .. len_b-1 only. Its outputs after them are zero and pass no gradient, and its state
/// stays that of step len_b-1: h_{len_b} is output row (len_b-1)·B + b, and lstm_sequence's
/// c_last holds each row's last c — what unrolling the cell with a step mask gives.
///
/// The LSTM recurrence is in ops_rnn_lstm.cpp, the GRU ones in ops_rnn_gru.cpp, Elman and
/// linear in ops_rnn.cpp; ops_rnn_detail.hpp holds what they share.
#pragma once

#include <cstddef>
#include <vector>

#include "autograd/tape.hpp"

namespace tapenet {

template <class T>
Var<T> elman_tanh_sequence(Var<T> xp, Var<T> h0, Var<T> W_hh, Var<T> b_hh, const std::vector<std::size_t>& lengths = {});

/// The two outputs of lstm_sequence.
template <class T>
struct LSTMSequenceResult {
  Var<T> h;       ///< [T·B, H]: h_1 .. h_T, time-major, zero at padded positions
  Var<T> c_last;  ///< [B, H]: each row's c after its last real step
};
template <class T>
LSTMSequenceResult<T> lstm_sequence(Var<T> xp, Var<T> h0, Var<T> c0, Var<T> W_hh, Var<T> b_hh,
                                    const std::vector<std::size_t>& lengths = {});
template <class T>
Var<T> gru_sequence(Var<T> xp, Var<T> h0, Var<T> W_hh, Var<T> b_hh, const std::vector<std::size_t>& lengths = {});
template <class T>
Var<T> gru_sequence_reset_before(Var<T> xp, Var<T> h0, Var<T> W_hh, Var<T> b_hh,
                                 const std::vector<std::size_t>& lengths = {});

// linear(x, W, b), the affine map these sequences are fed by, is declared in autograd/ops.hpp.

}  // namespace tapenet
