#include "layers/init.hpp"

#include <cmath>
#include <stdexcept>

namespace tapenet::init {

template <class T>
Tensor<T> uniform(const Shape& shape, double a, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-a, a);
  Tensor<T> t = Tensor<T>::from_shape(shape);
  for (auto& v : t) v = static_cast<T>(u(rng));
  return t;
}

template <class T>
Tensor<T> normal(const Shape& shape, double std, std::mt19937_64& rng) {
  std::normal_distribution<double> n(0.0, std);
  Tensor<T> t = Tensor<T>::from_shape(shape);
  for (auto& v : t) v = static_cast<T>(n(rng));
  return t;
}

template <class T>
Tensor<T> glorot_uniform(const Shape& shape, std::mt19937_64& rng, double gain) {
  if (shape.size() < 2) throw std::invalid_argument("glorot_uniform: needs a matrix, got " + shape_str(shape));
  const double fan_out = double(shape[shape.size() - 2]), fan_in = double(shape.back());
  return uniform<T>(shape, gain * std::sqrt(6.0 / (fan_in + fan_out)), rng);
}

// Modified Gram-Schmidt on the columns of a tall Gaussian matrix: the columns come out
// orthonormal with the distribution QR-with-sign-fix would give.
template <class T>
Tensor<T> orthogonal(std::size_t rows, std::size_t cols, std::mt19937_64& rng, double gain) {
  const bool tall = rows >= cols;
  const std::size_t n = tall ? rows : cols, k = tall ? cols : rows;  // k orthonormal vectors of length n
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::vector<double>> q(k, std::vector<double>(n));
  for (auto& v : q)
    for (auto& x : v) x = normal(rng);
  for (std::size_t j = 0; j < k; ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      double dot = 0;
      for (std::size_t r = 0; r < n; ++r) dot += q[i][r] * q[j][r];
      for (std::size_t r = 0; r < n; ++r) q[j][r] -= dot * q[i][r];
    }
    double norm = 0;
    for (double x : q[j]) norm += x * x;
    norm = std::sqrt(norm);
    for (double& x : q[j]) x /= norm;
  }
  Tensor<T> out = Tensor<T>::from_shape({rows, cols});
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t r = 0; r < n; ++r) {
      const T v = static_cast<T>(gain * q[j][r]);
      if (tall) out(r, j) = v;
      else out(j, r) = v;
    }
  return out;
}

template <class T>
Tensor<T> identity_blocks(std::size_t d, std::size_t blocks, std::mt19937_64& rng) {
  if (d == 0 || blocks == 0) throw std::invalid_argument("identity_blocks: d and blocks must be positive");
  const T r = T(1) / (T(2) * std::sqrt(static_cast<T>(d)));
  std::uniform_real_distribution<T> u(-r, r);
  Tensor<T> out = Tensor<T>::from_shape({d, blocks * d});
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < blocks * d; ++j) out(i, j) = u(rng) + (j % d == i ? T(1) : T(0));
  return out;
}

#define TAPENET_INSTANTIATE_INIT(T)                                                    \
  template Tensor<T> uniform<T>(const Shape&, double, std::mt19937_64&);               \
  template Tensor<T> normal<T>(const Shape&, double, std::mt19937_64&);                \
  template Tensor<T> glorot_uniform<T>(const Shape&, std::mt19937_64&, double);        \
  template Tensor<T> orthogonal<T>(std::size_t, std::size_t, std::mt19937_64&, double); \
  template Tensor<T> identity_blocks<T>(std::size_t, std::size_t, std::mt19937_64&);
TAPENET_INSTANTIATE_INIT(float)
TAPENET_INSTANTIATE_INIT(double)

}  // namespace tapenet::init
