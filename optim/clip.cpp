#include "optim/clip.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace tapenet {

namespace {

template <class T>
Parameter<T>& checked(Parameter<T>* p, const char* fn) {
  if (!p) throw std::invalid_argument(std::string(fn) + ": null parameter in the list");
  return *p;
}

}  // namespace

template <class T>
T grad_norm(const ParameterList<T>& params) {
  double sum_sq = 0;
  for (Parameter<T>* p : params) {
    const Tensor<T>& g = checked(p, "grad_norm").grad;
    const T* d = g.data();
    for (std::size_t k = 0, n = g.size(); k < n; ++k) sum_sq += double(d[k]) * double(d[k]);
  }
  return T(std::sqrt(sum_sq));
}

template <class T>
T clip_grad_norm(const ParameterList<T>& params, std::common_type_t<T> max_norm) {
  if (!(max_norm >= T(0)))
    throw std::invalid_argument("clip_grad_norm: max_norm must be >= 0, got " +
                                std::to_string(max_norm));
  const T norm = grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  // g *= max_norm / (‖g‖ + 1e-6); the 1e-6 keeps the division safe, as in PyTorch.
  const T scale = T(double(max_norm) / (double(norm) + 1e-6));
  for (Parameter<T>* p : params) {
    T* d = p->grad.data();
    for (std::size_t k = 0, n = p->grad.size(); k < n; ++k) d[k] *= scale;
  }
  return norm;
}

template <class T>
void clip_grad_value(const ParameterList<T>& params, std::common_type_t<T> clip) {
  if (!(clip >= T(0)))
    throw std::invalid_argument("clip_grad_value: clip must be >= 0, got " + std::to_string(clip));
  for (Parameter<T>* p : params) {
    Tensor<T>& g = checked(p, "clip_grad_value").grad;
    T* d = g.data();
    for (std::size_t k = 0, n = g.size(); k < n; ++k) d[k] = std::clamp(d[k], -clip, clip);
  }
}

template float grad_norm(const ParameterList<float>&);
template double grad_norm(const ParameterList<double>&);
template float clip_grad_norm(const ParameterList<float>&, float);
template double clip_grad_norm(const ParameterList<double>&, double);
template void clip_grad_value(const ParameterList<float>&, float);
template void clip_grad_value(const ParameterList<double>&, double);

}  // namespace tapenet
