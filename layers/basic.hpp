// Linear, Embedding and Dropout: the building blocks every model here starts from.
#pragma once

#include <random>

#include "autograd/ops.hpp"
#include "layers/init.hpp"
#include "layers/module.hpp"

namespace tapenet {

// y = x Wᵀ + b,  W [out, in] (PyTorch's layout), b [1, out].
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

// Rows of a [vocab, dim] table.
template <class T>
class Embedding : public Module<T> {
 public:
  Embedding(std::size_t vocab, std::size_t dim, std::mt19937_64& rng, double init_std = 0.1);
  Var<T> forward(Tape<T>& tape, const std::vector<std::int64_t>& ids) const;
  std::size_t vocab_size() const { return table.value.shape()[0]; }
  std::size_t dim() const { return table.value.shape()[1]; }

  Parameter<T>& table;
};

// Inverted dropout that follows the module's train/eval mode. The generator is passed in
// per call so one Dropout can serve many threads (each with its own generator).
template <class T>
class Dropout : public Module<T> {
 public:
  explicit Dropout(T p) : p_(p) {}
  Var<T> forward(Var<T> x, std::mt19937_64& rng) const { return dropout(x, p_, this->training(), rng); }
  T p() const { return p_; }

 private:
  T p_;
};

}  // namespace tapenet
