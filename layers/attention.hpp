/// @file
/// Attention over the outputs of an encoder (Bahdanau et al. 2015; Luong et al. 2015), for a
/// batch of source sentences of different lengths.
///
/// The memory is the encoder's outputs, time-major like layers/sequence.hpp: one Var
/// M [S·B, Hk] whose rows s·B .. s·B+B-1 are source position s, plus lengths [B]. A query
/// q [B, Hq] (the decoder state) attends over its own sentence only:
/// @code{.unparsed}
///   e[b,s] = score(q_b, m_{s,b})
///     additive (Bahdanau):        vᵀ tanh(W_q q_b + b + W_k m_{s,b})
///     dot (Luong):                q_bᵀ m_{s,b}                         (needs Hq = Hk)
///     general (Luong):            q_bᵀ W m_{s,b}
///   a[b,·] = softmax over s < lengths[b] of e[b,·];  a[b,s] = 0 exactly for s >= lengths[b]
///   c_b = Σ_s a[b,s] m_{s,b}                                            context [B, Hk]
/// @endcode
/// Padded source positions therefore get weight 0 and their memory rows receive a gradient
/// of exactly 0. The parts that do not depend on the query (W_k M for additive) are computed
/// once per batch by `prepare`, not once per decoder step.
///
/// Usage:
/// @code
///   Attention<float> attn(AttentionKind::Additive, Hq, Hk, rng);
///   AttentionMemory<float> mem = attn.prepare(tape, concat_outputs(encoder_outputs), B, lengths);
///   AttentionOutput<float> a = attn.forward(tape, h_prev, mem);   // a.context [B, Hk], a.weights [B, S]
/// @endcode
///
/// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "layers/basic.hpp"
#include "layers/module.hpp"

namespace tapenet {

// ---- ops over a time-major memory ------------------------------------------------------------
// Differentiable; forward and backward side by side in attention.cpp.

/// q [B, H], M [S·B, H] -> e [B, S] with e[b,s] = q_b · M[s·B + b].
template <class T> Var<T> batched_dot(Var<T> q, Var<T> M);
/// a [B, S], M [S·B, H] -> c [B, H] with c_b = Σ_s a[b,s] M[s·B + b].
template <class T> Var<T> weighted_sum(Var<T> a, Var<T> M);
/// e [B, S] -> softmax of each row over its first lengths[b] entries; the rest are exactly 0.
/// Every length must be in 1..S.
template <class T> Var<T> masked_softmax(Var<T> e, const std::vector<std::size_t>& lengths);

// ---- the attention module ------------------------------------------------------------------------

enum class AttentionKind { Additive, Dot, General };

const char* attention_name(AttentionKind kind);
/// "additive" / "bahdanau", "dot", "general" / "luong"; throws std::invalid_argument otherwise.
AttentionKind parse_attention(const std::string& name);

template <class T>
struct AttentionMemory {
  Var<T> values;                     ///< M [S·B, Hk]: what the context averages
  Var<T> keys;                       ///< what the score compares with (additive: M W_kᵀ [S·B, A]; else M)
  std::size_t steps = 0;             ///< S
  std::size_t batch = 0;             ///< B
  std::vector<std::size_t> lengths;  ///< [B], each in 1..S
};

template <class T>
struct AttentionOutput {
  Var<T> context;  ///< [B, Hk]
  Var<T> weights;  ///< [B, S]; rows sum to 1, zero at padded positions
};

template <class T>
class Attention : public Module<T> {
 public:
  /// attention_size: the width A of the additive layer (0: Hq). Unused by dot and general.
  Attention(AttentionKind kind, std::size_t query_size, std::size_t key_size, std::mt19937_64& rng,
            std::size_t attention_size = 0);

  /// values [S·B, Hk] time-major; empty lengths mean every sentence has S positions.
  AttentionMemory<T> prepare(Tape<T>& tape, Var<T> values, std::size_t batch,
                             const std::vector<std::size_t>& lengths = {}) const;
  /// query [B, Hq] -> context and weights.
  AttentionOutput<T> forward(Tape<T>& tape, Var<T> query, const AttentionMemory<T>& memory) const;
  /// The unnormalised scores e [B, S].
  Var<T> scores(Tape<T>& tape, Var<T> query, const AttentionMemory<T>& memory) const;

  AttentionKind kind() const { return kind_; }
  std::size_t query_size() const { return query_size_; }
  std::size_t key_size() const { return key_size_; }

  Parameter<T>* W_q = nullptr;  ///< additive: [A, Hq]
  Parameter<T>* b = nullptr;    ///< additive: [1, A]
  Parameter<T>* W_k = nullptr;  ///< additive: [A, Hk]
  Parameter<T>* v = nullptr;    ///< additive: [A, 1]
  Parameter<T>* W = nullptr;    ///< general: [Hk, Hq] (q W maps the query into key space)

 private:
  AttentionKind kind_;
  std::size_t query_size_, key_size_;
};

}  // namespace tapenet
