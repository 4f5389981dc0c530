/// @file
/// Linear, Embedding and Dropout: the building blocks every model here starts from.
///
/// The forward convention of every module in layers/: forward(Tape<T>& tape, inputs...,
/// std::mt19937_64* rng = nullptr) — the tape first, the dropout generator last and optional.
/// Dropout acts only in training mode and only with a generator: a null generator draws
/// nothing, and a module in training mode with a dropout rate > 0 and no generator throws
/// std::invalid_argument naming the module. The generator is passed per call (not owned) so
/// one module can serve many threads, each with its own generator. Dropout rates are double
/// everywhere (cast to T at the op). Generators that choose tokens (generate, choose_token,
/// a language model's sample) are sampling, not dropout: they stay a required reference.
#pragma once

#include <random>
#include <stdexcept>
#include <string>

#include "autograd/ops.hpp"
#include "layers/init.hpp"
#include "layers/module.hpp"

namespace tapenet {

/// y = x Wᵀ + b,  W [out, in] (PyTorch's layout), b [1, out].
template <class T>
class Linear : public Module<T> {
 public:
  Linear(std::size_t in, std::size_t out, std::mt19937_64& rng, bool bias = true);
  Var<T> forward(Tape<T>& tape, Var<T> x) const;
  std::size_t in_features() const { return W.value.shape()[1]; }
  std::size_t out_features() const { return W.value.shape()[0]; }

  Parameter<T>& W;
  Parameter<T>* b = nullptr;
};

/// Rows of a [vocab, dim] table.
template <class T>
class Embedding : public Module<T> {
 public:
  /// padding_index >= 0 (torch's padding_idx): that id looks up a zero vector and its row
  /// gets no gradient (its row starts at zero too). Throws std::out_of_range when it is not
  /// a row of the table.
  Embedding(std::size_t vocab, std::size_t dim, std::mt19937_64& rng, double init_std = 0.1,
            std::int64_t padding_index = -1);
  Var<T> forward(Tape<T>& tape, const std::vector<std::int64_t>& ids) const;
  std::size_t vocab_size() const { return table.value.shape()[0]; }
  std::size_t dim() const { return table.value.shape()[1]; }
  std::int64_t padding_index() const { return padding_index_; }

  Parameter<T>& table;

 private:
  std::int64_t padding_index_;
};

/// Weight tying (Press & Wolf 2017; Inan et al. 2017): logits = h Eᵀ (+ bias) with the
/// embedding's table E [V, D] as the readout, for h [N, D]; its gradient adds to the one
/// the lookups give. bias [1, V] may be null.
template <class T>
Var<T> tied_readout(Tape<T>& tape, const Embedding<T>& embedding, Var<T> h, Parameter<T>* bias = nullptr);

/// Inverted dropout that follows the module's train/eval mode (see the convention above).
/// Throws std::invalid_argument for p outside [0, 1).
template <class T>
class Dropout : public Module<T> {
 public:
  explicit Dropout(double p);
  Var<T> forward(Tape<T>& tape, Var<T> x, std::mt19937_64* rng = nullptr) const;
  double p() const { return p_; }

 private:
  double p_;
};

/// Throws std::invalid_argument("<module>: dropout in training mode needs a generator") when
/// `training` with a rate > 0 and no generator: the check of the forward convention.
inline void require_dropout_generator(const char* module, bool training, double p, const std::mt19937_64* rng) {
  if (training && p > 0 && !rng) throw std::invalid_argument(std::string(module) + ": dropout in training mode needs a generator");
}

}  // namespace tapenet
