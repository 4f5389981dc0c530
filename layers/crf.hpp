/// @file
/// A linear-chain conditional random field over L labels as the output layer of a tagger
/// (Lample et al. 2016, "Neural Architectures for Named Entity Recognition", §2.2):
/// @code{.unparsed}
///   score(x, y) = start[y_0] + Σ_t E[t, y_t] + Σ_{t>0} A[y_{t-1}, y_t] + end[y_{T-1}]
///   log p(y | x) = score(x, y) - log Z,  log Z = log Σ_y' exp score(x, y')
/// @endcode
/// with E the emission scores of a sentence [T, L] (a BiLSTM's outputs), A the transition
/// scores [L, L] (A[i, j]: label i followed by j) and start / end scores [L]. log Z comes from
/// the forward algorithm, in log space through the logsumexp op (so its gradient is the
/// tape's):
/// @code{.unparsed}
///   α_0 = start + E_0,   α_t[j] = logsumexp_i(α_{t-1}[i] + A[i, j]) + E_t[j],
///   log Z = logsumexp_j(α_{T-1}[j] + end[j])
/// @endcode
/// and decoding is Viterbi, the same recursion with max in place of logsumexp.
///
/// Batches are time-major like the recurrent layers: emissions [T, B, L], tags [T, B] and a
/// mask [T, B] (1 on real steps, 0 on padding; each column a prefix of ones, mask[0, b] = 1).
/// Tags on padded steps are ignored.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "autograd/ops.hpp"
#include "layers/module.hpp"

namespace tapenet {

template <class T>
class CRF : public Module<T> {
 public:
  /// Scores drawn uniformly from [-init_scale, init_scale] (as pytorch-crf).
  CRF(std::size_t num_labels, std::mt19937_64& rng, double init_scale = 0.1);
  std::size_t num_labels() const { return transitions.value.shape()[0]; }

  /// One sentence: emissions [T, L] and its T tags -> [1].
  Var<T> log_likelihood(Tape<T>& tape, Var<T> emissions, const std::vector<std::int64_t>& tags) const;
  Var<T> neg_log_likelihood(Tape<T>& tape, Var<T> emissions, const std::vector<std::int64_t>& tags) const;
  /// A padded batch -> [1]: the sum over the batch (Mean: divided by B).
  Var<T> log_likelihood(Tape<T>& tape, Var<T> emissions, const IndexTensor& tags, const Tensor<T>& mask,
                        Reduction reduction = Reduction::Sum) const;
  Var<T> neg_log_likelihood(Tape<T>& tape, Var<T> emissions, const IndexTensor& tags, const Tensor<T>& mask,
                            Reduction reduction = Reduction::Sum) const;

  /// The parts, per example -> [B]: log Z and score(x, y).
  Var<T> log_partition(Tape<T>& tape, Var<T> emissions, const Tensor<T>& mask) const;
  Var<T> score(Tape<T>& tape, Var<T> emissions, const IndexTensor& tags, const Tensor<T>& mask) const;

  /// The highest-scoring label sequence (ties: the lowest label at each backtracking step).
  std::vector<std::int64_t> viterbi(const Tensor<T>& emissions) const;  ///< [T, L]
  /// Each example's best sequence, of its own length, for emissions [T, B, L].
  std::vector<std::vector<std::int64_t>> viterbi(const Tensor<T>& emissions, const Tensor<T>& mask) const;

  Parameter<T>& transitions;  ///< [L, L]
  Parameter<T>& start;        ///< [L]
  Parameter<T>& end;          ///< [L]
};

}  // namespace tapenet
