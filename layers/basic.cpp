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

template class Linear<float>;
template class Linear<double>;
template class Embedding<float>;
template class Embedding<double>;

}  // namespace tapenet
