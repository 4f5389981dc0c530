// Reductions (max, min, logsumexp, cumsum, argmax, argmin) and shape / indexing ops
// (stack, broadcast_to, pad, index_select, gather, bmm) of issue 16: gradchecks, values by
// hand or by explicit loops, and the shape errors.
#define BOOST_TEST_MODULE ops_reduce_index
#include "tests/ops_testing.hpp"

#include <limits>

using namespace tapenet;
using namespace tapenet::testing;

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(reductions)

// x = [[3, 1, 3],
//      [-2, 5, 0]]
const Tn kX = tensor({2, 3}, {3, 1, 3, -2, 5, 0});

BOOST_AUTO_TEST_CASE(max_min_values_and_first_index_gradient) {
  Tape<double> tape;
  V x = tape.input(kX);
  CHECK_CLOSE(max(x).value(), tensor({1}, {5}), 0);
  CHECK_CLOSE(min(x).value(), tensor({1}, {-2}), 0);
  CHECK_CLOSE(max(x, 0).value(), tensor({3}, {3, 5, 3}), 0);
  CHECK_CLOSE(max(x, 1, true).value(), tensor({2, 1}, {3, 5}), 0);
  CHECK_CLOSE(min(x, 1).value(), tensor({2}, {1, -2}), 0);
  // Row 0 has its maximum 3 twice: only the first (column 0) receives the gradient.
  tape.backward(sum(max(x, 1)));
  CHECK_CLOSE(x.grad(), tensor({2, 3}, {1, 0, 0, 0, 1, 0}), 0);
  Tape<double> t2;
  V y = t2.input(tensor({4}, {2, 7, 7, 1}));
  t2.backward(max(y));
  CHECK_CLOSE(y.grad(), tensor({4}, {0, 1, 0, 0}), 0);
}

BOOST_AUTO_TEST_CASE(argmax_argmin_first_index) {
  Tape<double> tape;
  V x = tape.input(kX);
  BOOST_TEST(argmax(x, 1) == (std::vector<std::int64_t>{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(argmin(x, 1) == (std::vector<std::int64_t>{1, 0}), boost::test_tools::per_element());
  BOOST_TEST(argmax(x, 0) == (std::vector<std::int64_t>{0, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(argmin(x, 0) == (std::vector<std::int64_t>{1, 0, 1}), boost::test_tools::per_element());
  V z = tape.input(rnd({2, 3, 4}, 1));  // against explicit loops over the middle axis
  const std::vector<std::int64_t> am = argmax(z, 1);
  for (std::size_t o = 0; o < 2; ++o)
    for (std::size_t i = 0; i < 4; ++i) {
      std::size_t best = 0;
      for (std::size_t a = 1; a < 3; ++a)
        if (z.value()(o, a, i) > z.value()(o, best, i)) best = a;
      BOOST_TEST(am[o * 4 + i] == std::int64_t(best));
    }
}

BOOST_AUTO_TEST_CASE(logsumexp_values_and_stability) {
  Tape<double> tape;
  V x = tape.input(kX);
  const double r0 = std::log(2 * std::exp(3.0) + std::exp(1.0)), r1 = std::log(std::exp(-2.0) + std::exp(5.0) + 1);
  CHECK_CLOSE(logsumexp(x, 1).value(), tensor({2}, {r0, r1}), 1e-13);
  CHECK_CLOSE(logsumexp(x, 0, true).value(),
              tensor({1, 3}, {std::log(std::exp(3.0) + std::exp(-2.0)), std::log(std::exp(1.0) + std::exp(5.0)), std::log(std::exp(3.0) + 1)}),
              1e-13);
  CHECK_CLOSE(logsumexp(x).value(), tensor({1}, {std::log(std::exp(r0) + std::exp(r1))}), 1e-13);
  const double inf = std::numeric_limits<double>::infinity();
  V big = tape.input(tensor({2, 2}, {1000, 1000, -inf, -inf}));
  Var<double> l = logsumexp(big, 1);
  CHECK_CLOSE(l.value(), tensor({2}, {1000 + std::log(2.0), -inf}), 1e-12);
  tape.backward(l, tensor({2}, {1, 1}));
  CHECK_CLOSE(big.grad(), tensor({2, 2}, {0.5, 0.5, 0, 0}), 1e-12);
}

BOOST_AUTO_TEST_CASE(cumsum_values) {
  Tape<double> tape;
  V x = tape.input(kX);
  CHECK_CLOSE(cumsum(x, 1).value(), tensor({2, 3}, {3, 4, 7, -2, 3, 3}), 0);
  CHECK_CLOSE(cumsum(x, 0).value(), tensor({2, 3}, {3, 1, 3, 1, 6, 3}), 0);
  tape.backward(sum(cumsum(x, 1)));
  CHECK_CLOSE(x.grad(), tensor({2, 3}, {3, 2, 1, 3, 2, 1}), 0);
}

BOOST_AUTO_TEST_CASE(gradchecks) {
  for (std::size_t axis = 0; axis < 3; ++axis)
    BOOST_TEST_CONTEXT("axis " << axis) {
      const Tn x = rnd({2, 3, 4}, 10 + axis);  // distinct entries: no ties within eps
      for (bool keep : {false, true}) {
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return max(v[0], axis, keep); }, {x});
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return min(v[0], axis, keep); }, {x});
        GRADCHECK([axis, keep](Tape<double>&, const Inputs& v) { return logsumexp(v[0], axis, keep); }, {x});
      }
      GRADCHECK([axis](Tape<double>&, const Inputs& v) { return cumsum(v[0], axis); }, {x});
    }
  const Tn x = rnd({3, 4}, 20);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return max(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return min(v[0]); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return logsumexp(v[0]); }, {x});
  // The same Var twice.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mul(logsumexp(v[0], 1, true), cumsum(v[0], 1)); }, {x});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return add(max(v[0], 0), min(v[0], 0)); }, {x});
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op) {
  Tape<double> tape;
  V x = tape.input(kX);
  V empty = tape.input(Tn::from_shape({2, 0}));
  CHECK_SHAPE_ERROR(max(x, 2), "max");
  CHECK_SHAPE_ERROR(min(x, 5, true), "min");
  CHECK_SHAPE_ERROR(max(empty, 1), "max");
  CHECK_SHAPE_ERROR(min(empty), "min");
  CHECK_SHAPE_ERROR(logsumexp(x, 2), "logsumexp");
  CHECK_SHAPE_ERROR(logsumexp(empty), "logsumexp");
  CHECK_SHAPE_ERROR(cumsum(x, 2), "cumsum");
  CHECK_SHAPE_ERROR(argmax(x, 2), "argmax");
  CHECK_SHAPE_ERROR(argmin(empty, 1), "argmin");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(shapes_and_indexing)

BOOST_AUTO_TEST_CASE(stack_values_and_gradcheck) {
  Tape<double> tape;
  V a = tape.input(tensor({2, 2}, {1, 2, 3, 4})), b = tape.input(tensor({2, 2}, {5, 6, 7, 8}));
  CHECK_CLOSE(stack<double>({a, b}, 0).value(), tensor({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), 0);
  CHECK_CLOSE(stack<double>({a, b}, 1).value(), tensor({2, 2, 2}, {1, 2, 5, 6, 3, 4, 7, 8}), 0);
  CHECK_CLOSE(stack<double>({a, b}, 2).value(), tensor({2, 2, 2}, {1, 5, 2, 6, 3, 7, 4, 8}), 0);
  for (std::size_t axis = 0; axis < 3; ++axis)
    GRADCHECK([axis](Tape<double>&, const Inputs& v) { return stack<double>({v[0], v[1], v[0]}, axis); },
              {rnd({2, 3}, 1), rnd({2, 3}, 2)});
}

BOOST_AUTO_TEST_CASE(broadcast_to_values_and_gradcheck) {
  Tape<double> tape;
  V x = tape.input(tensor({2, 1}, {1, 2}));
  Var<double> y = broadcast_to(x, {3, 2, 2});
  CHECK_CLOSE(y.value(), tensor({3, 2, 2}, {1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2}), 0);
  tape.backward(sum(y));
  CHECK_CLOSE(x.grad(), tensor({2, 1}, {6, 6}), 0);
  GRADCHECK([](Tape<double>&, const Inputs& v) { return broadcast_to(v[0], {2, 3, 4}); }, {rnd({3, 1}, 3)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return mul(broadcast_to(v[0], {2, 4}), v[0]); }, {rnd({4}, 4)});
}

BOOST_AUTO_TEST_CASE(pad_values_and_gradcheck) {
  Tape<double> tape;
  V x = tape.input(tensor({2, 2}, {1, 2, 3, 4}));
  CHECK_CLOSE(pad(x, 1, 1, 2, -1.0).value(), tensor({2, 5}, {-1, 1, 2, -1, -1, -1, 3, 4, -1, -1}), 0);
  CHECK_CLOSE(pad(x, 0, 0, 1).value(), tensor({3, 2}, {1, 2, 3, 4, 0, 0}), 0);
  for (std::size_t axis = 0; axis < 3; ++axis)
    GRADCHECK([axis](Tape<double>&, const Inputs& v) { return pad(v[0], axis, 2, 1, 0.5); }, {rnd({2, 3, 2}, 5 + axis)});
}

BOOST_AUTO_TEST_CASE(index_select_repeats_accumulate) {
  Tape<double> tape;
  V x = tape.input(tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  Var<double> y = index_select(x, 1, {2, 0, 2});
  CHECK_CLOSE(y.value(), tensor({2, 3}, {3, 1, 3, 6, 4, 6}), 0);
  tape.backward(sum(y));
  CHECK_CLOSE(x.grad(), tensor({2, 3}, {1, 0, 2, 1, 0, 2}), 0);
  CHECK_CLOSE(index_select(x, 0, {1}).value(), tensor({1, 3}, {4, 5, 6}), 0);
  for (std::size_t axis = 0; axis < 3; ++axis)
    GRADCHECK([axis](Tape<double>&, const Inputs& v) { return index_select(v[0], axis, {1, 0, 1, 1}); }, {rnd({2, 3, 2}, 9 + axis)});
  BOOST_CHECK_THROW(index_select(x, 1, {3}), std::out_of_range);
  BOOST_CHECK_THROW(index_select(x, 1, {-1}), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(gather_as_torch) {
  // torch.gather(x, 1, [[0, 0], [1, 0]]) with x = [[1, 2], [3, 4]] is [[1, 1], [4, 3]].
  Tape<double> tape;
  V x = tape.input(tensor({2, 2}, {1, 2, 3, 4}));
  IndexTensor idx = {{0, 0}, {1, 0}};
  Var<double> y = gather(x, 1, idx);
  CHECK_CLOSE(y.value(), tensor({2, 2}, {1, 1, 4, 3}), 0);
  tape.backward(sum(y));
  CHECK_CLOSE(x.grad(), tensor({2, 2}, {2, 0, 1, 1}), 0);
  // Along axis 0 with a smaller index: y[i][j] = x[idx[i][j]][j].
  IndexTensor idx0 = {{1, 0}};
  CHECK_CLOSE(gather(x, 0, idx0).value(), tensor({1, 2}, {3, 2}), 0);
  IndexTensor idx3 = xt::xarray<std::int64_t>::from_shape({2, 2, 3});
  for (std::size_t k = 0; k < idx3.size(); ++k) idx3.data()[k] = std::int64_t((k * 7) % 3);
  for (std::size_t axis = 0; axis < 3; ++axis)
    GRADCHECK([axis, idx3](Tape<double>&, const Inputs& v) {
      IndexTensor i = idx3;
      for (auto& e : i) e = e % std::int64_t(v[0].dim(axis));
      return gather(v[0], axis, i);
    }, {rnd({2, 3, 3}, 12 + axis)});
  IndexTensor bad = {{2, 0}, {0, 0}};
  BOOST_CHECK_THROW(gather(x, 1, bad), std::out_of_range);
}

// Explicit triple loop: C[b] = op(A[b]) op(B[b]).
Tn bmm_oracle(const Tn& A, const Tn& B, bool ta, bool tb) {
  const std::size_t nb = A.shape()[0], m = A.shape()[ta ? 2 : 1], k = A.shape()[ta ? 1 : 2], n = B.shape()[tb ? 1 : 2];
  Tn C = zeros<double>({nb, m, n});
  for (std::size_t b = 0; b < nb; ++b)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t p = 0; p < k; ++p) C(b, i, j) += (ta ? A(b, p, i) : A(b, i, p)) * (tb ? B(b, j, p) : B(b, p, j));
  return C;
}

BOOST_AUTO_TEST_CASE(bmm_all_transposes) {
  std::uint64_t seed = 30;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      BOOST_TEST_CONTEXT("ta " << ta << " tb " << tb) {
        const Tn A = rnd(ta ? Shape{2, 4, 3} : Shape{2, 3, 4}, seed++), B = rnd(tb ? Shape{2, 5, 4} : Shape{2, 4, 5}, seed++);
        Tape<double> tape;
        CHECK_CLOSE(bmm(tape.input(A), tape.input(B), ta, tb).value(), bmm_oracle(A, B, ta, tb), 1e-13);
        GRADCHECK([ta, tb](Tape<double>&, const Inputs& v) { return bmm(v[0], v[1], ta, tb); }, {A, B});
      }
  // x xᵀ per batch: the same Var on both sides.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return bmm(v[0], v[0], false, true); }, {rnd({2, 3, 2}, 40)});
  Tape<double> tape;
  CHECK_CLOSE(bmm(tape.input(zeros<double>({2, 3, 0})), tape.input(zeros<double>({2, 0, 2}))).value(), zeros<double>({2, 3, 2}), 0);
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op) {
  Tape<double> tape;
  V a = tape.input(rnd({2, 3}, 1)), b = tape.input(rnd({3, 2}, 2));
  CHECK_SHAPE_ERROR(stack<double>({a, b}, 0), "stack");
  CHECK_SHAPE_ERROR(stack<double>({a, a}, 3), "stack");
  CHECK_SHAPE_ERROR(stack<double>({}, 0), "stack");
  CHECK_SHAPE_ERROR(broadcast_to(a, {3, 3}), "broadcast_to");
  CHECK_SHAPE_ERROR(broadcast_to(a, {3}), "broadcast_to");
  CHECK_SHAPE_ERROR(pad(a, 2, 1, 1), "pad");
  CHECK_SHAPE_ERROR(index_select(a, 2, {0}), "index_select");
  CHECK_SHAPE_ERROR(gather(a, 1, IndexTensor{0, 1}), "gather");
  CHECK_SHAPE_ERROR(gather(a, 1, IndexTensor(xt::xarray<std::int64_t>::from_shape({3, 1}))), "gather");
  V a3 = tape.input(rnd({2, 3, 4}, 3));
  CHECK_SHAPE_ERROR(bmm(a3, tape.input(rnd({2, 3, 4}, 4))), "bmm");
  CHECK_SHAPE_ERROR(bmm(a3, tape.input(rnd({3, 4, 4}, 4))), "bmm");
  CHECK_SHAPE_ERROR(bmm(a, b), "bmm");
}

BOOST_AUTO_TEST_SUITE_END()
