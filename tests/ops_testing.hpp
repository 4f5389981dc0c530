// Helpers shared by the op test modules (test_ops_*.cpp, test_crf.cpp): random inputs,
// elementwise comparison, and the gradcheck / shape-error checks.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"

namespace tapenet::testing {

using Tn = Tensor<double>;
using V = Var<double>;
using Inputs = std::vector<V>;

// Uniform random tensor in [lo, hi), deterministic per seed.
inline Tn rnd(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tn t = Tn::from_shape(shape);
  for (auto& v : t) v = u(rng);
  return t;
}

// Random tensor whose entries all keep at least `gap` from every kink.
inline Tn away_from(const Shape& shape, std::uint64_t seed, const std::vector<double>& kinks, double lo, double hi,
                    double gap = 0.05) {
  Tn t = rnd(shape, seed, lo, hi);
  for (auto& v : t)
    for (double k : kinks)
      if (std::abs(v - k) < gap) v = v < k ? k - gap : k + gap;
  return t;
}

inline Tn tensor(const Shape& shape, const std::vector<double>& values) {
  Tn t = Tn::from_shape(shape);
  if (values.size() != t.size()) throw std::invalid_argument("tensor: " + std::to_string(values.size()) + " values for " + shape_str(shape));
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

// (ok, message naming the worst element) for |got - want| <= tol elementwise, shapes equal.
inline std::pair<bool, std::string> close(const Tn& got, const Tn& want, double tol) {
  std::ostringstream s;
  s.precision(12);
  if (to_shape(got.shape()) != to_shape(want.shape())) {
    s << "shape " << shape_str(got.shape()) << " != " << shape_str(want.shape());
    return {false, s.str()};
  }
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = got.flat(i) == want.flat(i) ? 0.0 : std::abs(got.flat(i) - want.flat(i));  // inf == inf
    if (!(d <= worst)) {  // NaN sticks
      worst = d;
      at = i;
    }
  }
  s << "max |got - want| = " << worst << " at flat " << at;
  if (got.size()) s << " (got " << got.flat(at) << ", want " << want.flat(at) << ")";
  return {worst <= tol, s.str()};
}

// Whether f throws ShapeError whose message starts with "<op>: ".
template <class F>
std::pair<bool, std::string> throws_shape_error(F f, const std::string& op) {
  try {
    f();
  } catch (const ShapeError& e) {
    const std::string what = e.what();
    return {what.rfind(op + ": ", 0) == 0 && e.op() == op, what};
  } catch (const std::exception& e) {
    return {false, std::string("other exception: ") + e.what()};
  }
  return {false, "no exception"};
}

}  // namespace tapenet::testing

#define GRADCHECK(...)                               \
  do {                                               \
    const auto r_ = tapenet::gradcheck(__VA_ARGS__); \
    BOOST_TEST(r_.ok, r_.message());                 \
    BOOST_TEST(r_.checked > 0u);                     \
  } while (0)

#define CHECK_CLOSE(got, want, tol)                               \
  do {                                                            \
    const auto c_ = tapenet::testing::close((got), (want), (tol)); \
    BOOST_TEST(c_.first, c_.second);                              \
  } while (0)

// The expression throws ShapeError naming `op` ("op: ...").
#define CHECK_SHAPE_ERROR(expr, op)                                                    \
  do {                                                                                 \
    const auto s_ = tapenet::testing::throws_shape_error([&] { (void)(expr); }, (op)); \
    BOOST_TEST(s_.first, "expected ShapeError from " << (op) << ": " << s_.second);    \
  } while (0)
