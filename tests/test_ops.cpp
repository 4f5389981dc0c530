// Gradient tests for every op in autograd/ops.hpp: central differences (tapenet::gradcheck,
// double, eps 1e-6, atol 1e-5, rtol 1e-3) against backward(), plus forward values against
// independent oracles (xtensor, xtensor-blas, explicit loops, hand computations).
#define BOOST_TEST_MODULE ops
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"

using namespace tapenet;
using Tn = Tensor<double>;
using V = Var<double>;
using Inputs = std::vector<V>;

namespace {

// Uniform random tensor in [lo, hi), deterministic per seed.
Tn rnd(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tn t = Tn::from_shape(shape);
  for (auto& v : t) v = u(rng);
  return t;
}

// Random tensor whose entries all keep at least `gap` from every kink (and straddle them).
Tn away_from(const Shape& shape, std::uint64_t seed, std::vector<double> kinks, double lo, double hi,
             double gap = 0.05) {
  Tn t = rnd(shape, seed, lo, hi);
  for (auto& v : t)
    for (double k : kinks)
      if (std::abs(v - k) < gap) v = v < k ? k - gap : k + gap;
  return t;
}

// (ok, message naming the worst element) for |got - want| <= tol elementwise, shapes equal.
std::pair<bool, std::string> close(const Tn& got, const Tn& want, double tol) {
  std::ostringstream s;
  s.precision(12);
  if (to_shape(got.shape()) != to_shape(want.shape())) {
    s << "shape " << shape_str(got.shape()) << " != " << shape_str(want.shape());
    return {false, s.str()};
  }
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(got.flat(i) - want.flat(i));
    if (!(d <= worst)) {  // NaN sticks
      worst = d;
      at = i;
    }
  }
  const bool ok = worst <= tol;
  s << "max |got - want| = " << worst << " at flat " << at;
  if (got.size()) s << " (got " << got.flat(at) << ", want " << want.flat(at) << ")";
  return {ok, s.str()};
}

}  // namespace

#define GRADCHECK(...)                                  \
  do {                                                  \
    const auto r_ = tapenet::gradcheck(__VA_ARGS__);    \
    BOOST_TEST(r_.ok, r_.message());                    \
    BOOST_TEST(r_.checked > 0u);                        \
  } while (0)

#define CHECK_CLOSE(got, want, tol)                  \
  do {                                               \
    const auto c_ = close((got), (want), (tol));     \
    BOOST_TEST(c_.first, c_.second);                 \
  } while (0)

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(arith)

struct ShapePair {
  Shape a, b;
};
const std::vector<ShapePair> kShapePairs = {
    {{3, 4}, {3, 4}},        // same shapes
    {{1}, {3, 4}},           // scalar left
    {{3, 4}, {1}},           // scalar right
    {{1, 4}, {3, 4}},        // row [1,4]
    {{3, 4}, {4}},           // row [4] (rank promotion)
    {{4}, {3, 4}},           //
    {{3, 1}, {3, 4}},        // column
    {{3, 4}, {3, 1}},        //
    {{3, 1}, {1, 4}},        // both stretched
    {{2, 3, 4}, {2, 3, 4}},  // 3-D
    {{2, 3, 4}, {3, 4}},     //
    {{2, 1, 4}, {2, 3, 1}},  //
    {{1, 3, 1}, {2, 3, 4}},  //
    {{2, 3, 4}, {4}},        //
};

BOOST_AUTO_TEST_CASE(binary_ops_gradcheck_with_broadcasting) {
  using BinOp = V (*)(V, V);
  const std::vector<std::pair<const char*, BinOp>> ops = {
      {"add", &add<double>}, {"sub", &sub<double>}, {"mul", &mul<double>}, {"div", &div<double>}};
  std::uint64_t seed = 1;
  for (const auto& [name, op] : ops)
    for (const auto& sp : kShapePairs) {
      BOOST_TEST_CONTEXT(name << " " << shape_str(sp.a) << " with " << shape_str(sp.b)) {
        const Tn a = rnd(sp.a, seed++);
        // Denominators kept away from zero: |b| in [0.5, 1.5], both signs.
        Tn b = rnd(sp.b, seed++, 0.5, 1.5);
        for (std::size_t i = 0; i < b.size(); i += 2) b.flat(i) = -b.flat(i);
        BinOp f = op;
        GRADCHECK([f](Tape<double>&, const Inputs& x) { return f(x[0], x[1]); }, {a, b});
      }
    }
}

BOOST_AUTO_TEST_CASE(binary_ops_forward_broadcast_values) {
  // Column [3,1] against row [1,4], checked by an explicit loop.
  Tape<double> tape;
  const Tn a = rnd({3, 1}, 11), b = rnd({1, 4}, 12, 0.5, 1.5);
  V va = tape.input(a), vb = tape.input(b);
  const Tn s = add(va, vb).value(), d = sub(va, vb).value(), m = mul(va, vb).value(), q = div(va, vb).value();
  Tn ws = Tn::from_shape({3, 4}), wd = ws, wm = ws, wq = ws;
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) {
      ws(i, j) = a(i, 0) + b(0, j);
      wd(i, j) = a(i, 0) - b(0, j);
      wm(i, j) = a(i, 0) * b(0, j);
      wq(i, j) = a(i, 0) / b(0, j);
    }
  CHECK_CLOSE(s, ws, 1e-15);
  CHECK_CLOSE(d, wd, 1e-15);
  CHECK_CLOSE(m, wm, 1e-15);
  CHECK_CLOSE(q, wq, 1e-15);
}

BOOST_AUTO_TEST_CASE(broadcast_gradient_exact_sum) {
  // d/db sum(a + b) for b [4] against a [3,4] is 3 per entry; for a scalar [1] it is 12.
  Tape<double> tape;
  V a = tape.input(rnd({3, 4}, 1)), b = tape.input(rnd({4}, 2)), s = tape.input(rnd({1}, 3));
  tape.backward(sum(add(add(a, b), s)));
  CHECK_CLOSE(b.grad(), Tn(xt::ones<double>({4}) * 3.0), 0.0);
  CHECK_CLOSE(s.grad(), Tn({12.0}), 0.0);
  CHECK_CLOSE(a.grad(), Tn(xt::ones<double>({3, 4})), 0.0);
}

BOOST_AUTO_TEST_CASE(neg_add_scalar_mul_scalar) {
  const Tn x = rnd({3, 4}, 5);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return neg(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return add_scalar(v[0], 2.5); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mul_scalar(v[0], -1.75); }, {x});
  // Operator sugar routes to the same ops.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return (2.0 - v[0]) * 3.0 + 1.0 - v[0] / 4.0; }, {x});
  Tape<double> tape;
  V vx = tape.input(x);
  CHECK_CLOSE(neg(vx).value(), Tn(-x), 0.0);
  CHECK_CLOSE(add_scalar(vx, 2.5).value(), Tn(x + 2.5), 0.0);
  CHECK_CLOSE(mul_scalar(vx, -1.75).value(), Tn(x * -1.75), 0.0);
}

BOOST_AUTO_TEST_CASE(mask_mul_gradcheck) {
  const Tn x = rnd({3, 4}, 6);
  Tn mask = rnd({3, 4}, 7);
  mask(0, 1) = 0;
  mask(2, 3) = 0;
  GRADCHECK([mask](Tape<double>&, const Inputs& v) { return mask_mul(v[0], mask); }, {x});
  // Broadcast both ways: a row mask over [3,4], and a [1,4] input stretched by a [3,4] mask.
  const Tn row_mask = rnd({4}, 8);
  GRADCHECK([row_mask](Tape<double>&, const Inputs& v) { return mask_mul(v[0], row_mask); }, {x});
  GRADCHECK([mask](Tape<double>&, const Inputs& v) { return mask_mul(v[0], mask); }, {rnd({1, 4}, 9)});
  Tape<double> tape;
  V vx = tape.input(x);
  V y = mask_mul(vx, mask);
  CHECK_CLOSE(y.value(), Tn(x * mask), 0.0);
  tape.backward(sum(y));
  CHECK_CLOSE(vx.grad(), mask, 0.0);  // exact: no gradient flows where the mask is 0
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(unary)

BOOST_AUTO_TEST_CASE(exp_log_tanh_sigmoid) {
  const Tn x = rnd({3, 4}, 21, -2, 2);
  const Tn pos = rnd({3, 4}, 22, 0.2, 3.0);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return exp(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return log(v[0]); }, {pos});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return tanh(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return sigmoid(v[0]); }, {x});
  Tape<double> tape;
  V vx = tape.input(x), vp = tape.input(pos);
  CHECK_CLOSE(exp(vx).value(), Tn(xt::exp(x)), 1e-14);
  CHECK_CLOSE(log(vp).value(), Tn(xt::log(pos)), 1e-14);
  CHECK_CLOSE(tanh(vx).value(), Tn(xt::tanh(x)), 1e-14);
  CHECK_CLOSE(sigmoid(vx).value(), Tn(1.0 / (1.0 + xt::exp(-x))), 1e-14);
}

BOOST_AUTO_TEST_CASE(sigmoid_large_magnitude) {
  const Tn x = {-800.0, -40.0, -15.0, -0.3, 0.3, 15.0, 40.0, 800.0};
  GRADCHECK([](Tape<double>&, const Inputs& v) { return sigmoid(v[0]); }, {x});
  Tape<double> tape;
  V vx = tape.input(x);
  V y = sigmoid(vx);
  tape.backward(sum(y));
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT("x = " << x(i)) {
      BOOST_TEST(std::isfinite(y.value()(i)));
      BOOST_TEST(y.value()(i) >= 0.0);
      BOOST_TEST(y.value()(i) <= 1.0);
      BOOST_TEST(std::isfinite(vx.grad()(i)));
    }
  }
  BOOST_TEST(y.value()(0) == 0.0);
  BOOST_TEST(y.value()(7) == 1.0);
  BOOST_TEST(std::abs(y.value()(1) - std::exp(-40.0)) < 1e-30);  // small tail kept, not 0
}

BOOST_AUTO_TEST_CASE(relu_and_clamp_away_from_kinks) {
  const Tn x = away_from({4, 5}, 23, {0.0}, -2, 2);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return relu(v[0]); }, {x});
  const Tn c = away_from({4, 5}, 24, {-0.5, 0.5}, -1.5, 1.5);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return clamp(v[0], -0.5, 0.5); }, {c});
  Tape<double> tape;
  V vx = tape.input(x), vc = tape.input(c);
  CHECK_CLOSE(relu(vx).value(), Tn(xt::maximum(x, 0.0)), 0.0);
  CHECK_CLOSE(clamp(vc, -0.5, 0.5).value(), Tn(xt::clip(c, -0.5, 0.5)), 0.0);
  BOOST_CHECK_THROW(clamp(vc, 1.0, -1.0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(square_pow_sqrt) {
  const Tn x = rnd({3, 4}, 25, -2, 2);
  const Tn pos = rnd({3, 4}, 26, 0.3, 2.5);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return square(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return pow(v[0], 3.0); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return pow(v[0], 2.5); }, {pos});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return pow(v[0], -1.5); }, {pos});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return sqrt(v[0]); }, {pos});
  Tape<double> tape;
  V vx = tape.input(x), vp = tape.input(pos);
  CHECK_CLOSE(square(vx).value(), Tn(x * x), 0.0);
  CHECK_CLOSE(pow(vp, 2.5).value(), Tn(xt::pow(pos, 2.5)), 1e-14);
  CHECK_CLOSE(sqrt(vp).value(), Tn(xt::sqrt(pos)), 1e-15);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(linalg)

BOOST_AUTO_TEST_CASE(matmul_all_transpose_flags) {
  // Logical product [3,4] x [4,2]; a transposed operand is stored transposed.
  const Tn A = rnd({3, 4}, 31), B = rnd({4, 2}, 32);
  const Tn want = xt::linalg::dot(A, B);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      BOOST_TEST_CONTEXT("transpose_a " << ta << ", transpose_b " << tb) {
        const Tn As = ta ? Tn(xt::transpose(A)) : A;
        const Tn Bs = tb ? Tn(xt::transpose(B)) : B;
        // Independent oracle: BLAS dot of explicitly transposed copies of the stored operands.
        const Tn Aop = ta ? Tn(xt::transpose(As)) : As;
        const Tn Bop = tb ? Tn(xt::transpose(Bs)) : Bs;
        Tape<double> tape;
        V y = matmul(tape.input(As), tape.input(Bs), ta != 0, tb != 0);
        CHECK_CLOSE(y.value(), Tn(xt::linalg::dot(Aop, Bop)), 1e-12);
        CHECK_CLOSE(y.value(), want, 1e-12);
        const bool fa = ta, fb = tb;
        GRADCHECK([fa, fb](Tape<double>&, const Inputs& v) { return matmul(v[0], v[1], fa, fb); }, {As, Bs});
      }
    }
}

BOOST_AUTO_TEST_CASE(matmul_vector_shapes_and_errors) {
  // [1,n] x [n,1] and [n,1] x [1,n] (outer product).
  GRADCHECK([](Tape<double>&, const Inputs& v) { return matmul(v[0], v[1]); }, {rnd({1, 5}, 33), rnd({5, 1}, 34)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return matmul(v[0], v[1]); }, {rnd({5, 1}, 35), rnd({1, 3}, 36)});
  Tape<double> tape;
  V a = tape.input(rnd({3, 4}, 1)), b = tape.input(rnd({3, 2}, 2));
  BOOST_CHECK_THROW(matmul(a, b), ShapeError);
  BOOST_CHECK_NO_THROW(matmul(a, b, true, false));
  BOOST_CHECK_THROW(matmul(a, tape.input(rnd({4}, 3))), ShapeError);
}

BOOST_AUTO_TEST_CASE(transpose_gradcheck) {
  const Tn x = rnd({3, 5}, 37);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return transpose(v[0]); }, {x});
  Tape<double> tape;
  CHECK_CLOSE(transpose(tape.input(x)).value(), Tn(xt::transpose(x)), 0.0);
}

// out[b,k] = Σ_ij x[b,i] V[k,i,j] y[b,j]
Tn bilinear_loop(const Tn& x, const Tn& Vt, const Tn& y) {
  const std::size_t B = x.shape()[0], n = x.shape()[1], K = Vt.shape()[0], m = Vt.shape()[2];
  Tn out = zeros<double>({B, K});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) out(b, k) += x(b, i) * Vt(k, i, j) * y(b, j);
  return out;
}

BOOST_AUTO_TEST_CASE(bilinear_general) {
  const Tn x = rnd({2, 3}, 41), Vt = rnd({4, 3, 5}, 42), y = rnd({2, 5}, 43);
  Tape<double> tape;
  CHECK_CLOSE(bilinear(tape.input(x), tape.input(Vt), tape.input(y)).value(), bilinear_loop(x, Vt, y), 1e-13);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return bilinear(v[0], v[1], v[2]); }, {x, Vt, y});
  // Only V requiring a gradient (x, y constants).
  GRADCHECK([x, y](Tape<double>& t, const Inputs& v) { return bilinear(t.constant(x), v[0], t.constant(y)); }, {Vt});
  BOOST_CHECK_THROW(bilinear(tape.input(x), tape.input(Vt), tape.input(rnd({2, 4}, 1))), ShapeError);
}

BOOST_AUTO_TEST_CASE(bilinear_rntn_same_var) {
  // x == y, the same Var: both roles' gradients must add up in x.
  const Tn x = rnd({3, 4}, 44), Vt = rnd({2, 4, 4}, 45);
  Tape<double> tape;
  V vx = tape.input(x);
  CHECK_CLOSE(bilinear(vx, tape.input(Vt), vx).value(), bilinear_loop(x, Vt, x), 1e-13);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return bilinear(v[0], v[1], v[0]); }, {x, Vt});
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(shape_ops)

BOOST_AUTO_TEST_CASE(reshape_gradcheck) {
  const Tn x = rnd({3, 4}, 51);
  for (const Shape& s : std::vector<Shape>{{2, 6}, {12}, {2, 2, 3}, {12, 1}}) {
    BOOST_TEST_CONTEXT("to " << shape_str(s)) {
      GRADCHECK([s](Tape<double>&, const Inputs& v) { return reshape(v[0], s); }, {x});
      Tape<double> tape;
      V y = reshape(tape.input(x), s);
      BOOST_TEST(to_shape(y.shape()) == s);
      BOOST_TEST(std::equal(x.begin(), x.end(), y.value().begin()));
    }
  }
  Tape<double> tape;
  BOOST_CHECK_THROW(reshape(tape.input(x), {5, 2}), ShapeError);
}

BOOST_AUTO_TEST_CASE(concat_2d_and_3d) {
  const Tn a = rnd({2, 3}, 52), b = rnd({4, 3}, 53), c = rnd({2, 5}, 54);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return concat<double>({v[0], v[1]}, 0); }, {a, b});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return concat<double>({v[0], v[1]}, 1); }, {a, c});
  const Tn p = rnd({2, 3, 4}, 55), q = rnd({1, 3, 4}, 56), r = rnd({2, 2, 4}, 57), s = rnd({2, 3, 1}, 58);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return concat<double>({v[0], v[1]}, 0); }, {p, q});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return concat<double>({v[0], v[1], v[0]}, 1); }, {p, r});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return concat<double>({v[1], v[0]}, 2); }, {p, s});
  // Forward against xtensor's concatenate.
  Tape<double> tape;
  V va = tape.input(a), vb = tape.input(b), vc = tape.input(c);
  CHECK_CLOSE(concat<double>({va, vb}, 0).value(), Tn(xt::concatenate(xt::xtuple(a, b), 0)), 0.0);
  CHECK_CLOSE(concat<double>({va, vc}, 1).value(), Tn(xt::concatenate(xt::xtuple(a, c), 1)), 0.0);
  V vp = tape.input(p), vr = tape.input(r);
  CHECK_CLOSE(concat<double>({vp, vr}, 1).value(), Tn(xt::concatenate(xt::xtuple(p, r), 1)), 0.0);
  BOOST_CHECK_THROW(concat<double>({va, vb}, 1), ShapeError);
  BOOST_CHECK_THROW(concat<double>({va, vc}, 2), ShapeError);
}

BOOST_AUTO_TEST_CASE(slice_and_split) {
  const Tn x = rnd({4, 5}, 61), x3 = rnd({2, 4, 3}, 62);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return slice(v[0], 0, 1, 3); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return slice(v[0], 1, 2, 5); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return slice(v[0], 1, 1, 3); }, {x3});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return slice(v[0], 2, 0, 1); }, {x3});
  // Overlapping slices of one input accumulate.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mul(slice(v[0], 1, 0, 3), slice(v[0], 1, 2, 5)); }, {x});
  Tape<double> tape;
  V vx = tape.input(x);
  CHECK_CLOSE(slice(vx, 1, 2, 5).value(), Tn(xt::view(x, xt::all(), xt::range(2, 5))), 0.0);
  BOOST_CHECK_THROW(slice(vx, 1, 3, 6), ShapeError);
  BOOST_CHECK_THROW(slice(vx, 2, 0, 1), ShapeError);

  // split: parts weighted differently so a mixed-up block would show.
  GRADCHECK(
      [](Tape<double>&, const Inputs& v) {
        auto parts = split(v[0], 1, {2, 1, 2});
        return add(add(mul_scalar(sum(parts[0]), 1.0), mul_scalar(sum(square(parts[1])), 2.0)),
                   mul_scalar(sum(exp(parts[2])), 3.0));
      },
      {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return split(v[0], 0, {1, 1})[1]; }, {x3});
  auto parts = split(vx, 0, {1, 3});
  BOOST_TEST(parts.size() == 2u);
  CHECK_CLOSE(parts[1].value(), Tn(xt::view(x, xt::range(1, 4), xt::all())), 0.0);
  BOOST_CHECK_THROW(split(vx, 0, {1, 2}), ShapeError);
}

BOOST_AUTO_TEST_CASE(gather_rows_scatter_add) {
  const Tn W = rnd({5, 3}, 63);
  const std::vector<std::int64_t> rows = {1, 3, 1, 0, 1};
  GRADCHECK([rows](Tape<double>&, const Inputs& v) { return gather_rows(v[0], rows); }, {W});
  Tape<double> tape;
  V vw = tape.input(W);
  V y = gather_rows(vw, rows);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(y.value()(r, j) == W(rows[r], j));
  tape.backward(sum(y));
  // Exact counts: row 1 three times, rows 0 and 3 once, rows 2 and 4 never.
  const Tn want = {{1, 1, 1}, {3, 3, 3}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}};
  CHECK_CLOSE(vw.grad(), want, 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(reductions)

BOOST_AUTO_TEST_CASE(sum_mean_all) {
  const Tn x = rnd({3, 4}, 71);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return sum(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mean(v[0]); }, {x});
  // Non-trivial upstream gradient so the broadcast of g matters.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return square(sum(v[0])); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return square(mean(v[0])); }, {rnd({2, 3, 2}, 72)});
  Tape<double> tape;
  V vx = tape.input(x);
  BOOST_TEST(std::abs(sum(vx).item() - xt::sum(x)()) < 1e-14);
  BOOST_TEST(std::abs(mean(vx).item() - xt::mean(x)()) < 1e-15);
  BOOST_TEST(to_shape(sum(vx).shape()) == Shape{1});
}

BOOST_AUTO_TEST_CASE(sum_mean_along_each_axis) {
  const Tn x = rnd({2, 3, 4}, 73);
  for (std::size_t axis = 0; axis < 3; ++axis)
    for (bool keep : {false, true}) {
      BOOST_TEST_CONTEXT("axis " << axis << ", keepdims " << keep) {
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return sum(v[0], axis, keep); }, {x});
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return mean(v[0], axis, keep); }, {x});
        Tape<double> tape;
        V vx = tape.input(x);
        Tn want_sum = xt::sum(x, {axis});
        Tn want_mean = xt::mean(x, {axis});
        if (keep) {
          Shape s = to_shape(x.shape());
          s[axis] = 1;
          want_sum.reshape(s);
          want_mean.reshape(s);
        }
        CHECK_CLOSE(sum(vx, axis, keep).value(), want_sum, 1e-14);
        CHECK_CLOSE(mean(vx, axis, keep).value(), want_mean, 1e-14);
      }
    }
  const Tn m = rnd({3, 4}, 74);
  for (std::size_t axis = 0; axis < 2; ++axis)
    for (bool keep : {false, true}) {
      BOOST_TEST_CONTEXT("2-D axis " << axis << ", keepdims " << keep) {
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return sum(v[0], axis, keep); }, {m});
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return mean(v[0], axis, keep); }, {m});
      }
    }
  Tape<double> tape;
  BOOST_CHECK_THROW(sum(tape.input(x), 3), ShapeError);
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax) {
  const Tn x = rnd({3, 4}, 75, -3, 3);
  for (std::size_t axis = 0; axis < 2; ++axis) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      GRADCHECK([axis](Tape<double>&, const Inputs& v) { return softmax(v[0], axis); }, {x});
      GRADCHECK([axis](Tape<double>&, const Inputs& v) { return log_softmax(v[0], axis); }, {x});
      Tape<double> tape;
      V vx = tape.input(x);
      const Tn sm = softmax(vx, axis).value();
      const Tn e = xt::exp(x);
      // (evaluate the keep_dims sum first: xtensor 0.24 mis-broadcasts the lazy reducer)
      const Tn z = xt::sum(e, {axis}, xt::keep_dims);
      const Tn want = e / z;
      CHECK_CLOSE(sm, want, 1e-14);
      CHECK_CLOSE(Tn(xt::sum(sm, {axis})), Tn(xt::ones<double>({x.shape()[1 - axis]})), 1e-14);
      CHECK_CLOSE(log_softmax(vx, axis).value(), Tn(xt::log(want)), 1e-13);
    }
  }
  // Rows sum to 1 even for huge logits (max subtraction).
  Tape<double> tape;
  const Tn big = {{1000.0, 1001.0, 999.0}, {-1000.0, -1000.0, -999.0}};
  V s = softmax(tape.input(big), 1);
  CHECK_CLOSE(Tn(xt::sum(s.value(), {1})), Tn({1.0, 1.0}), 1e-14);
  BOOST_TEST(std::isfinite(log_softmax(tape.input(big), 1).value()(0, 0)));
  GRADCHECK([](Tape<double>&, const Inputs& v) { return softmax(v[0], 1); }, {rnd({2, 3, 4}, 76)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return log_softmax(v[0], 2); }, {rnd({2, 3, 4}, 77)});
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(losses)

// Σ_r w_r (log Σ_c e^{x_rc} - x_r,t_r), by hand.
double ce_by_hand(const Tn& x, const std::vector<std::int64_t>& t, const std::vector<double>& w) {
  double s = 0;
  for (std::size_t r = 0; r < t.size(); ++r) {
    if (w[r] == 0) continue;
    double z = 0;
    for (std::size_t c = 0; c < x.shape()[1]; ++c) z += std::exp(x(r, c));
    s += w[r] * (std::log(z) - x(r, static_cast<std::size_t>(t[r])));
  }
  return s;
}

BOOST_AUTO_TEST_CASE(cross_entropy_forward_by_hand) {
  // Two rows worked out on paper: row 0 logits (0, ln 2, ln 5) -> p(target 2) = 5/8;
  // row 1 logits (1, 1) over 3 classes with third 1 -> uniform, p = 1/3.
  const Tn x = {{0.0, std::log(2.0), std::log(5.0)}, {1.0, 1.0, 1.0}};
  Tape<double> tape;
  V vx = tape.input(x);
  const double l0 = -std::log(5.0 / 8.0), l1 = std::log(3.0);
  BOOST_TEST(std::abs(cross_entropy(vx, {2, 0}).item() - (l0 + l1) / 2) < 1e-14);
  ClassLossOptions<double> sum_opt;
  sum_opt.reduction = Reduction::Sum;
  BOOST_TEST(std::abs(cross_entropy(vx, {2, 0}, sum_opt).item() - (l0 + l1)) < 1e-14);
  ClassLossOptions<double> ign;
  ign.ignore_index = -1;
  BOOST_TEST(std::abs(cross_entropy(vx, {-1, 0}, ign).item() - l1) < 1e-14);
  // Gradient by hand: (softmax - onehot) / N.
  tape.backward(cross_entropy(vx, {2, 0}));
  const Tn want = {{1.0 / 8 / 2, 2.0 / 8 / 2, (5.0 / 8 - 1) / 2}, {(1.0 / 3 - 1) / 2, 1.0 / 3 / 2, 1.0 / 3 / 2}};
  CHECK_CLOSE(vx.grad(), want, 1e-15);
}

BOOST_AUTO_TEST_CASE(cross_entropy_variants_gradcheck) {
  const Tn x = rnd({5, 4}, 81, -2, 2);
  const std::vector<std::int64_t> t = {0, 3, 1, 1, 2};
  // plain
  GRADCHECK([t](Tape<double>&, const Inputs& v) { return cross_entropy(v[0], t); }, {x});
  Tape<double> tape;
  V vx = tape.input(x);
  BOOST_TEST(std::abs(cross_entropy(vx, t).item() - ce_by_hand(x, t, {1, 1, 1, 1, 1}) / 5) < 1e-14);

  // ignore_index rows contribute nothing and are not counted in the mean.
  const std::vector<std::int64_t> ti = {0, -100, 1, -100, 2};
  GRADCHECK([ti](Tape<double>&, const Inputs& v) { return cross_entropy(v[0], ti); }, {x});
  BOOST_TEST(std::abs(cross_entropy(vx, ti).item() - ce_by_hand(x, ti, {1, 0, 1, 0, 1}) / 3) < 1e-14);

  // weights mask: Mean divides by the total weight.
  const Tn w = {1.0, 0.0, 2.0, 0.5, 1.0};
  const std::vector<double> wv(w.begin(), w.end());
  GRADCHECK(
      [t, w](Tape<double>&, const Inputs& v) {
        ClassLossOptions<double> o;
        o.weights = &w;
        return cross_entropy(v[0], t, o);
      },
      {x});
  ClassLossOptions<double> wo;
  wo.weights = &w;
  BOOST_TEST(std::abs(cross_entropy(vx, t, wo).item() - ce_by_hand(x, t, wv) / 4.5) < 1e-14);

  // Reduction::Sum
  GRADCHECK(
      [t](Tape<double>&, const Inputs& v) {
        ClassLossOptions<double> o;
        o.reduction = Reduction::Sum;
        return cross_entropy(v[0], t, o);
      },
      {x});
  ClassLossOptions<double> so;
  so.reduction = Reduction::Sum;
  BOOST_TEST(std::abs(cross_entropy(vx, t, so).item() - ce_by_hand(x, t, {1, 1, 1, 1, 1})) < 1e-13);

  // All combined: ignore + weights + sum.
  GRADCHECK(
      [ti, w](Tape<double>&, const Inputs& v) {
        ClassLossOptions<double> o;
        o.weights = &w;
        o.reduction = Reduction::Sum;
        return cross_entropy(v[0], ti, o);
      },
      {x});
  // cross_entropy == nll(log_softmax)
  BOOST_TEST(std::abs(cross_entropy(vx, t).item() - nll(log_softmax(vx, 1), t).item()) < 1e-14);
}

BOOST_AUTO_TEST_CASE(nll_and_mse) {
  const Tn lp = rnd({4, 3}, 82, -3, -0.1);
  const std::vector<std::int64_t> t = {2, 0, 1, 2};
  GRADCHECK([t](Tape<double>&, const Inputs& v) { return nll(v[0], t); }, {lp});
  const Tn w = {0.5, 1.0, 0.0, 2.0};
  GRADCHECK(
      [t, w](Tape<double>&, const Inputs& v) {
        ClassLossOptions<double> o;
        o.weights = &w;
        o.ignore_index = 0;  // row 1 (target 0) ignored
        return nll(v[0], t, o);
      },
      {lp});
  GRADCHECK(
      [t](Tape<double>&, const Inputs& v) {
        ClassLossOptions<double> o;
        o.reduction = Reduction::Sum;
        return nll(v[0], t, o);
      },
      {lp});
  Tape<double> tape;
  V vlp = tape.input(lp);
  const double want = -(lp(0, 2) + lp(1, 0) + lp(2, 1) + lp(3, 2)) / 4;
  BOOST_TEST(std::abs(nll(vlp, t).item() - want) < 1e-15);

  const Tn p = rnd({3, 4}, 83), y = rnd({3, 4}, 84);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mse(v[0], v[1]); }, {p, y});
  BOOST_TEST(std::abs(mse(tape.input(p), tape.input(y)).item() - xt::mean(xt::square(p - y))()) < 1e-15);
  BOOST_CHECK_THROW(mse(tape.input(p), tape.input(rnd({4, 3}, 1))), ShapeError);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(dropout_op)

BOOST_AUTO_TEST_CASE(dropout_train_gradcheck_with_seeded_rng) {
  const Tn x = rnd({4, 5}, 91);
  // A fresh, identically seeded rng per call makes f deterministic.
  GRADCHECK(
      [](Tape<double>&, const Inputs& v) {
        std::mt19937_64 rng(2024);
        return dropout(v[0], 0.4, true, rng);
      },
      {x});
  GRADCHECK(
      [](Tape<double>&, const Inputs& v) {
        std::mt19937_64 rng(7);
        return tanh(dropout(mul(v[0], v[0]), 0.25, true, rng));
      },
      {x});
}

BOOST_AUTO_TEST_CASE(dropout_eval_and_p0_are_identity) {
  const Tn x = rnd({3, 4}, 92);
  std::mt19937_64 rng(1);
  for (auto [p, training] : std::vector<std::pair<double, bool>>{{0.5, false}, {0.0, true}, {0.0, false}}) {
    BOOST_TEST_CONTEXT("p " << p << ", training " << training) {
      Tape<double> tape;
      V vx = tape.input(x);
      V y = dropout(vx, p, training, rng);
      CHECK_CLOSE(y.value(), x, 0.0);
      tape.backward(sum(y));
      CHECK_CLOSE(vx.grad(), Tn(xt::ones<double>({3, 4})), 0.0);
    }
  }
  Tape<double> tape;
  BOOST_CHECK_THROW(dropout(tape.input(x), 1.0, true, rng), std::invalid_argument);
  BOOST_CHECK_THROW(dropout(tape.input(x), -0.1, true, rng), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(dropout_kept_fraction_and_scale) {
  const double p = 0.3;
  std::mt19937_64 rng(99);
  Tape<double> tape;
  V vx = tape.input(full<double>({100, 100}, 1.0));
  V y = dropout(vx, p, true, rng);
  std::size_t kept = 0;
  double worst_scale_error = 0;
  for (double v : y.value()) {
    if (v != 0) {
      ++kept;
      worst_scale_error = std::max(worst_scale_error, std::abs(v - 1.0 / (1.0 - p)));
    }
  }
  BOOST_TEST(worst_scale_error < 1e-15);  // every kept value is exactly 1/(1-p)
  const double frac = double(kept) / 10000.0;
  BOOST_TEST(frac > 0.67);  // 1 - p = 0.7; binomial sd ≈ 0.0046
  BOOST_TEST(frac < 0.73);
  // The gradient is exactly the mask: 1/(1-p) where kept, 0 where dropped.
  tape.backward(sum(y));
  CHECK_CLOSE(vx.grad(), y.value(), 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(composite)

BOOST_AUTO_TEST_CASE(input_used_twice) {
  const Tn x = rnd({3, 4}, 101);
  Tn nz = rnd({3, 4}, 102, 0.5, 1.5);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mul(v[0], v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return add(v[0], v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return sub(v[0], v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return div(v[0], add_scalar(v[0], 3.0)); }, {nz});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return matmul(v[0], v[0], false, true); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return matmul(v[0], v[0], true, false); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return matmul(v[0], v[0]); }, {rnd({3, 3}, 103)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return concat<double>({v[0], v[0]}, 0); }, {x});
  // Exact: d/dx sum(x*x) = 2x, d/dx sum(x+x) = 2.
  Tape<double> tape;
  V vx = tape.input(x);
  tape.backward(sum(add(mul(vx, vx), add(vx, vx))));
  CHECK_CLOSE(vx.grad(), Tn(2.0 * x + 2.0), 1e-15);
}

BOOST_AUTO_TEST_CASE(two_layer_mlp_with_parameters) {
  Parameter<double> W1("W1", rnd({4, 5}, 111, -0.8, 0.8)), b1("b1", rnd({5}, 112));
  Parameter<double> W2("W2", rnd({5, 3}, 113, -0.8, 0.8)), b2("b2", rnd({3}, 114));
  const Tn x = rnd({6, 4}, 115);
  const std::vector<std::int64_t> t = {0, 2, 1, 1, 0, 2};
  W1.grad.fill(7.0);  // pre-existing gradients must survive gradcheck
  GRADCHECK(
      [&](Tape<double>& tape, const Inputs& v) {
        V h = tanh(add(matmul(v[0], tape.param(W1)), tape.param(b1)));
        V logits = add(matmul(h, tape.param(W2)), tape.param(b2));
        return cross_entropy(logits, t);
      },
      {x}, {&W1, &b1, &W2, &b2});
  // Non-scalar output (random projection), relu hidden layer with sigmoid output.
  GRADCHECK(
      [&](Tape<double>& tape, const Inputs& v) {
        V h = sigmoid(add(matmul(v[0], tape.param(W1)), tape.param(b1)));
        return add(matmul(h, tape.param(W2)), tape.param(b2));
      },
      {x}, {&W1, &b1, &W2, &b2});
  BOOST_TEST(xt::all(xt::equal(W1.grad, 7.0)));
  BOOST_TEST(xt::all(xt::equal(b2.grad, 0.0)));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(gradcheck_self_test)

// y = sin x, recorded by hand. `factor` scales the derivative: 1 is right, 2 is wrong.
V custom_sin(V x, double factor) {
  Tn y = xt::sin(x.value());
  auto ix = x.id();
  return x.tape().record("custom_sin", std::move(y), {x},
                         [ix, factor](Tape<double>& t, const Tn& g, const Tn&) {
                           t.accumulate(ix, Tn(g * factor * xt::cos(t.value(ix))));
                         });
}

BOOST_AUTO_TEST_CASE(wrong_custom_op_fails_gradcheck) {
  const Tn x = rnd({2, 3}, 121);
  const auto good = gradcheck([](Tape<double>&, const Inputs& v) { return custom_sin(v[0], 1.0); }, {x});
  BOOST_TEST(good.ok, good.message());
  const auto bad = gradcheck([](Tape<double>&, const Inputs& v) { return custom_sin(v[0], 2.0); }, {x});
  BOOST_TEST(!bad.ok, bad.message());
  BOOST_TEST(bad.worst.find("input 0") != std::string::npos, bad.worst);
  BOOST_TEST(bad.message().find("FAILED") != std::string::npos, bad.message());
  BOOST_TEST(bad.max_abs_error > 1e-3);
  BOOST_TEST(bad.checked == x.size());
  // Scalar-output path (no random projection) catches it too.
  const auto bad_scalar =
      gradcheck([](Tape<double>&, const Inputs& v) { return sum(custom_sin(v[0], 2.0)); }, {x});
  BOOST_TEST(!bad_scalar.ok, bad_scalar.message());
  BOOST_TEST(bad_scalar.worst.find("input 0") != std::string::npos, bad_scalar.worst);
  // A wrong op hidden behind a correct one in the second of two inputs is still found.
  const auto bad2 = gradcheck(
      [](Tape<double>&, const Inputs& v) { return add(tanh(v[0]), custom_sin(v[1], 2.0)); }, {x, x});
  BOOST_TEST(!bad2.ok, bad2.message());
  BOOST_TEST(bad2.worst.find("input 1") != std::string::npos, bad2.worst);
}

BOOST_AUTO_TEST_CASE(wrong_parameter_gradient_fails_gradcheck) {
  Parameter<double> W("W", rnd({2, 2}, 122));
  const auto bad = gradcheck(
      [&](Tape<double>& tape, const Inputs& v) { return custom_sin(matmul(v[0], tape.param(W)), 2.0); },
      {rnd({3, 2}, 123)}, {&W});
  BOOST_TEST(!bad.ok, bad.message());
}

BOOST_AUTO_TEST_SUITE_END()
