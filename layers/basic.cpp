#include "layers/basic.hpp"

#include <algorithm>

namespace tapenet {

template <class T>
Linear<T>::Linear(std::size_t in, std::size_t out, std::mt19937_64& rng, bool bias)
    : W(this->add_parameter("W", init::glorot_uniform<T>({out, in}, rng))) {
  if (bias) b = &this->add_parameter("b", zeros<T>({1, out}));
}

template <class T>
Var<T> Linear<T>::forward(Tape<T>& tape, Var<T> x) const {
  if (b) return linear(x, tape.param(W), tape.param(*b));  // one node, no broadcast pass
  return matmul(x, tape.param(W), false, true);
}

template <class T>
Embedding<T>::Embedding(std::size_t vocab, std::size_t dim, std::mt19937_64& rng, double init_std,
                        std::int64_t padding_index)
    : table(this->add_parameter("table", init::normal<T>({vocab, dim}, init_std, rng))), padding_index_(padding_index) {
  if (padding_index_ >= std::int64_t(vocab))
    throw std::out_of_range("Embedding: padding index " + std::to_string(padding_index_) + " is not below the vocabulary size " +
                            std::to_string(vocab));
  if (padding_index_ >= 0)
    std::fill(table.value.data() + padding_index_ * std::int64_t(dim), table.value.data() + (padding_index_ + 1) * std::int64_t(dim), T(0));
}

template <class T>
Var<T> Embedding<T>::forward(Tape<T>& tape, const std::vector<std::int64_t>& ids) const {
  Var<T> rows = gather_rows(tape.param(table), ids);
  if (padding_index_ < 0 || std::find(ids.begin(), ids.end(), padding_index_) == ids.end()) return rows;
  // Padding positions: a zero vector, and a zero gradient for the padding row.
  Tensor<T> keep = full<T>({ids.size(), 1}, T(1));
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == padding_index_) keep(i, 0) = T(0);
  return mask_mul(rows, keep);
}

template <class T>
Var<T> tied_readout(Tape<T>& tape, const Embedding<T>& embedding, Var<T> h, Parameter<T>* bias) {
  if (h.ndim() != 2 || h.dim(1) != embedding.dim())
    throw ShapeError("tied_readout", "h " + shape_str(h.shape()) + " for an embedding of width " +
                                         std::to_string(embedding.dim()));
  return bias ? linear(h, tape.param(embedding.table), tape.param(*bias))
              : matmul(h, tape.param(embedding.table), false, true);
}

template <class T>
Dropout<T>::Dropout(double p) : p_(p) {
  if (!(p >= 0 && p < 1)) throw std::invalid_argument("Dropout: p must be in [0, 1), got " + std::to_string(p));
}

template <class T>
Var<T> Dropout<T>::forward(Tape<T>& /*tape*/, Var<T> x, std::mt19937_64* rng) const {
  require_dropout_generator("Dropout", this->training(), p_, rng);
  if (!this->training() || p_ == 0) return x;
  return dropout(x, static_cast<T>(p_), true, *rng);
}

template class Linear<float>;
template class Linear<double>;
template class Embedding<float>;
template class Embedding<double>;
template Var<float> tied_readout<float>(Tape<float>&, const Embedding<float>&, Var<float>, Parameter<float>*);
template Var<double> tied_readout<double>(Tape<double>&, const Embedding<double>&, Var<double>, Parameter<double>*);
template class Dropout<float>;
template class Dropout<double>;

}  // namespace tapenet
