// Products with a parameter as right-hand operand (matmul, linear): the tape packs the
// parameter once per recording (Tape::packed_parameter) and sums its weight gradient over
// every call with one GEMM at the end of backward (Tape::add_product_grad). Checked against
// finite differences, against the immediate path, across clear(), and across thread counts.
#define BOOST_TEST_MODULE weight_products
#include <boost/test/unit_test.hpp>

#include <cblas.h>

#include <cmath>
#include <random>
#include <string>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "layers/init.hpp"

using namespace tapenet;

namespace {

// Nine rows: enough for the packed path (at least 8 rows a product).
constexpr std::size_t kRows = 9, kIn = 5, kHidden = 6, kSteps = 4;

template <class T>
struct Weights {
  Parameter<T> W, U, V, b;
  explicit Weights(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    W = Parameter<T>("W", init::normal<T>({kHidden, kHidden}, 0.5, rng));  // used as Wᵀ
    U = Parameter<T>("U", init::normal<T>({kIn, kHidden}, 0.5, rng));      // used as U
    V = Parameter<T>("V", init::normal<T>({kHidden, kHidden}, 0.5, rng));  // linear's weight
    b = Parameter<T>("b", init::normal<T>({1, kHidden}, 0.5, rng));
  }
  ParameterList<T> list() { return {&W, &U, &V, &b}; }
};

// A recurrence written by hand: every parameter is used at every step, W both as Wᵀ and as W.
template <class T>
Var<T> unroll(Tape<T>& tape, Weights<T>& w, Var<T> x, Var<T> h) {
  Var<T> loss;
  for (std::size_t t = 0; t < kSteps; ++t) {
    Var<T> a = matmul(h, tape.param(w.W), false, true) + matmul(x, tape.param(w.U)) + matmul(h, tape.param(w.W));
    h = tanh(linear(tanh(a), tape.param(w.V), tape.param(w.b)));
    Var<T> step_loss = sum(h * h);
    loss = loss.valid() ? loss + step_loss : step_loss;
  }
  return loss;
}

template <class T>
Tensor<T> uniform_input(const Shape& shape, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return init::uniform<T>(shape, 1.0, rng);
}

}  // namespace

BOOST_AUTO_TEST_CASE(reused_parameters_gradcheck) {
  Weights<double> w(1);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) { return unroll(tape, w, in[0], in[1]); };
  const GradcheckResult r = gradcheck(f, {uniform_input<double>({kRows, kIn}, 2), uniform_input<double>({kRows, kHidden}, 3)},
                                      w.list());
  BOOST_TEST(r.ok, r.message());
}

BOOST_AUTO_TEST_CASE(a_computed_right_operand_gradcheck) {  // not a leaf: updated at once
  Weights<double> w(4);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
    Var<double> W2 = tape.param(w.W) * 2.0;
    return matmul(matmul(in[0], tape.param(w.U)), W2, false, true);
  };
  const GradcheckResult r = gradcheck(f, {uniform_input<double>({kRows, kIn}, 5)}, w.list());
  BOOST_TEST(r.ok, r.message());
}

BOOST_AUTO_TEST_CASE(deferred_gradients_equal_the_immediate_ones) {
  auto gradients = [](bool anomaly) {  // anomaly mode takes every product at once
    AnomalyGuard guard(anomaly);
    Weights<double> w(6);
    Tape<double> tape;
    tape.backward(unroll(tape, w, tape.constant(uniform_input<double>({kRows, kIn}, 7)),
                         tape.constant(uniform_input<double>({kRows, kHidden}, 8))));
    return std::vector<Tensor<double>>{w.W.grad, w.U.grad, w.V.grad, w.b.grad};
  };
  const auto deferred = gradients(false), immediate = gradients(true);
  for (std::size_t i = 0; i < deferred.size(); ++i) {
    const double diff = xt::amax(xt::abs(deferred[i] - immediate[i]))();
    BOOST_TEST(diff < 1e-12, "parameter " << i << " differs by " << diff);
  }
}

BOOST_AUTO_TEST_CASE(clear_forgets_the_packed_values) {
  Weights<float> w(9);
  const Tensor<float> x = uniform_input<float>({kRows, kHidden}, 10);
  Tape<float> tape;
  auto product = [&] { return Tensor<float>(matmul(tape.constant(x), tape.param(w.W), false, true).value()); };
  product();
  tape.clear();
  w.W.value *= 3.0f;  // as an optimizer step between two recordings
  const Tensor<float> got = product();
  for (std::size_t r = 0; r < kRows; ++r)
    for (std::size_t c = 0; c < kHidden; ++c) {
      double want = 0;
      for (std::size_t k = 0; k < kHidden; ++k) want += double(x(r, k)) * double(w.W.value(c, k));
      BOOST_TEST(std::abs(got(r, c) - want) < 1e-4, "[" << r << "," << c << "] " << got(r, c) << " vs " << want);
    }
}

BOOST_AUTO_TEST_CASE(float_gradients_follow_double) {
  Weights<float> wf(11);
  Weights<double> wd(11);
  Tape<float> tf;
  Tape<double> td;
  tf.backward(unroll(tf, wf, tf.constant(uniform_input<float>({kRows, kIn}, 12)),
                     tf.constant(uniform_input<float>({kRows, kHidden}, 13))));
  td.backward(unroll(td, wd, td.constant(uniform_input<double>({kRows, kIn}, 12)),
                     td.constant(uniform_input<double>({kRows, kHidden}, 13))));
  const double diff = xt::amax(xt::abs(xt::cast<double>(wf.W.grad) - wd.W.grad))();
  BOOST_TEST(diff < 1e-3 * (1.0 + xt::amax(xt::abs(wd.W.grad))()), "float and double differ by " << diff);
}

BOOST_AUTO_TEST_CASE(gradients_are_bit_identical_for_any_blas_thread_count) {
  auto gradients = [](int threads) {
    openblas_set_num_threads(threads);
    Weights<float> w(14);
    Tape<float> tape;  // 64 rows so that the row split has blocks to split
    tape.backward(unroll(tape, w, tape.constant(uniform_input<float>({64, kIn}, 15)),
                         tape.constant(uniform_input<float>({64, kHidden}, 16))));
    return std::vector<Tensor<float>>{w.W.grad, w.U.grad, w.V.grad, w.b.grad};
  };
  const auto one = gradients(1), two = gradients(2);
  openblas_set_num_threads(1);
  for (std::size_t i = 0; i < one.size(); ++i) BOOST_TEST((one[i] == two[i]), "parameter " << i);
}

// ---- row-sparse gradients of a table (gather_rows on a parameter) ------------------------

namespace {

constexpr std::size_t kVocab = 7, kWidth = 3;

// A table looked up twice (with repeated rows) and also used densely by a product.
template <class T>
Var<T> lookups(Tape<T>& tape, Parameter<T>& E, bool dense_too) {
  Var<T> table = tape.param(E);
  Var<T> a = gather_rows(table, {4, 1, 4});
  Var<T> b = gather_rows(table, {1, 6});
  Var<T> loss = sum(tanh(a) * a) + sum(b * b * b);
  if (dense_too) loss = loss + sum(tanh(matmul(a, table, false, true)));
  return loss;
}

}  // namespace

BOOST_AUTO_TEST_CASE(table_rows_gradcheck) {
  for (bool dense_too : {false, true}) {
    std::mt19937_64 rng(20);
    Parameter<double> E("E", init::normal<double>({kVocab, kWidth}, 0.7, rng));
    auto f = [&](Tape<double>& tape, const std::vector<Var<double>>&) { return lookups(tape, E, dense_too); };
    const GradcheckResult r = gradcheck(f, {}, {&E});
    BOOST_TEST(r.ok, "dense_too " << dense_too << ": " << r.message());
  }
}

BOOST_AUTO_TEST_CASE(table_rows_through_a_sink_equal_the_dense_gradient_bit_for_bit) {
  std::mt19937_64 rng(21);
  Parameter<float> E("E", init::normal<float>({kVocab, kWidth}, 0.7, rng));
  auto direct = [&](bool anomaly) {  // anomaly mode scatters into a dense buffer at once
    AnomalyGuard guard(anomaly);
    E.zero_grad();
    Tape<float> tape;
    tape.backward(lookups(tape, E, false));
    return Tensor<float>(E.grad);
  };
  const Tensor<float> sparse = direct(false), dense = direct(true);
  BOOST_TEST((sparse == dense));
  BOOST_TEST(sparse(0, 0) == 0.0f);  // row 0 was never looked up

  GradientBuffer<float> chunk, total;
  Tape<float> tape;
  tape.set_gradient_sink(&chunk);
  tape.backward(lookups(tape, E, false));
  chunk.add_into(total);
  E.zero_grad();
  total.add_into_parameters();
  BOOST_TEST((E.grad == dense));
  BOOST_REQUIRE(chunk.find(&E) != nullptr);  // expanded on request
  BOOST_TEST((*chunk.find(&E) == dense));
}
