#include "layers/layer_norm.hpp"

#include <stdexcept>
#include <string>

namespace tapenet {

template <class T>
LayerNorm<T>::LayerNorm(std::size_t dim, double eps)
    : gain(this->add_parameter("gain", full<T>({dim}, T(1)))), bias(this->add_parameter("bias", zeros<T>({dim}))), eps_(eps) {
  if (!(eps >= 0)) throw std::invalid_argument("LayerNorm: eps must be >= 0, got " + std::to_string(eps));
}

template <class T>
Var<T> LayerNorm<T>::forward(Tape<T>& tape, Var<T> x) const {
  return layer_norm(x, tape.param(gain), tape.param(bias), static_cast<T>(eps_));
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace tapenet
