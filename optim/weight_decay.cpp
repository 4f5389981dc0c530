#include "optim/weight_decay.hpp"

#include <stdexcept>
#include <string>

namespace tapenet {

// grad += λ p;  penalty = (λ/2) Σ p²
template <class T>
T add_l2(const ParameterList<T>& params, T lambda) {
  T penalty = 0;
  if (lambda == 0) return penalty;
  for (auto* p : params) {
    const T* v = p->value.data();
    T* g = p->grad.data();
    for (std::size_t i = 0; i < p->size(); ++i) {
      g[i] += lambda * v[i];
      penalty += v[i] * v[i];
    }
  }
  return penalty * lambda / T(2);
}

template <class T>
T add_l2_rows(Parameter<T>& table, T lambda, const std::vector<std::int64_t>& rows) {
  if (table.value.dimension() == 0)
    throw std::invalid_argument("add_l2_rows: parameter '" + table.name + "' is a scalar, not a table of rows");
  const std::size_t n = table.value.shape()[0], width = n == 0 ? 0 : table.size() / n;
  for (std::int64_t row : rows)
    if (row < 0 || static_cast<std::size_t>(row) >= n)
      throw std::out_of_range("add_l2_rows: row " + std::to_string(row) + " outside the " + std::to_string(n) +
                              "-row table '" + table.name + "'");
  std::vector<bool> seen(n, false);
  T penalty = 0;
  for (std::int64_t row : rows) {
    if (seen[static_cast<std::size_t>(row)]) continue;
    seen[static_cast<std::size_t>(row)] = true;
    const T* v = table.value.data() + static_cast<std::size_t>(row) * width;
    T* g = table.grad.data() + static_cast<std::size_t>(row) * width;
    for (std::size_t j = 0; j < width; ++j) {
      g[j] += lambda * v[j];
      penalty += v[j] * v[j];
    }
  }
  return penalty * lambda / T(2);
}

template float add_l2(const ParameterList<float>&, float);
template double add_l2(const ParameterList<double>&, double);
template float add_l2_rows(Parameter<float>&, float, const std::vector<std::int64_t>&);
template double add_l2_rows(Parameter<double>&, double, const std::vector<std::int64_t>&);

}  // namespace tapenet
