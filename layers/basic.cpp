#include "layers/basic.hpp"

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
Embedding<T>::Embedding(std::size_t vocab, std::size_t dim, std::mt19937_64& rng, double init_std)
    : table(this->add_parameter("table", init::normal<T>({vocab, dim}, init_std, rng))) {}

template <class T>
Var<T> Embedding<T>::forward(Tape<T>& tape, const std::vector<std::int64_t>& ids) const {
  return gather_rows(tape.param(table), ids);
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
template class Dropout<float>;
template class Dropout<double>;

}  // namespace tapenet
