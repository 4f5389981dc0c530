// Child-Sum Tree-LSTM (layers/child_sum_tree_lstm.hpp): values and gradients against an
// independent oracle composed of unfused ops (one product per gate and per child, sums of
// children as chains of adds), gradcheck in double on trees with 0..3 children, repeated
// subtrees, dependency trees whose node order is not bottom-up and with cell dropout, a
// 10 000-node chain, bit-identical gradients under parallel_batch with 1 and 2 threads, input
// errors, a minibatch run as one forest, a classifier over CoNLL-U dependency trees whose
// loss falls, and forward + backward over UD EWT dev trees (skipped without shared/).
#define BOOST_TEST_MODULE child_sum_tree_lstm
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "autograd/parallel_batch.hpp"
#include "data/conllu.hpp"
#include "data/nary_tree.hpp"
#include "layers/basic.hpp"
#include "layers/child_sum_tree_lstm.hpp"
#include "optim/optimizer.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using data::TreeStructure;
using tapenet::testing::randomise;
namespace fs = std::filesystem;

namespace {

// A random tree of n nodes in which no node has more than 3 children; node indices are then
// shuffled, so index order is not bottom-up (as in dependency trees).
TreeStructure random_tree(std::size_t n, std::mt19937_64& rng) {
  std::vector<int> parent(n, -1), kids(n, 0), open{0};
  for (std::size_t i = 1; i < n; ++i) {
    const std::size_t pick = std::uniform_int_distribution<std::size_t>(0, open.size() - 1)(rng);
    const int p = open[pick];
    parent[i] = p;
    if (++kids[p] == 3) open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
    open.push_back(static_cast<int>(i));
  }
  std::vector<int> name(n);
  std::iota(name.begin(), name.end(), 0);
  std::shuffle(name.begin(), name.end(), rng);
  std::vector<int> renamed(n, -1);
  for (std::size_t i = 0; i < n; ++i) renamed[name[i]] = parent[i] < 0 ? -1 : name[parent[i]];
  return data::structure_from_parents(renamed);
}

TreeStructure bracketed(const std::string& text) { return data::parse_nary_tree(text).structure(); }

// A chain of n nodes: node i's parent is i - 1.
TreeStructure chain(std::size_t n) {
  std::vector<int> parent(n);
  for (std::size_t i = 0; i < n; ++i) parent[i] = static_cast<int>(i) - 1;
  return data::structure_from_parents(parent);
}

std::size_t max_children(const TreeStructure& t) {
  std::size_t m = 0;
  for (const auto& k : t.children) m = std::max(m, k.size());
  return m;
}

// ---- the oracle: the equations with one op per term ----------------------------------------

// Row r of a [N, k] tensor as [1, k].
Tensor<double> row_of(const Tensor<double>& m, std::size_t r) {
  const std::size_t k = m.shape()[1];
  Tensor<double> out = zeros<double>({1, k});
  std::copy(m.data() + r * k, m.data() + (r + 1) * k, out.data());
  return out;
}

struct Cell {
  Var<double> h, c;
};

// Rows [k·d, (k+1)·d) of a [4d, ·] or [3d, ·] weight: one gate's matrix.
Var<double> gate_rows(Var<double> M, std::size_t k, std::size_t d) { return slice(M, 0, k * d, (k + 1) * d); }
Var<double> gate_cols(Var<double> b, std::size_t k, std::size_t d) { return slice(b, 1, k * d, (k + 1) * d); }

// x [1, e]: W_g x + b_g as x W_gᵀ + b_g for gate g (0 i, 1 o, 2 u, 3 f).
Var<double> input_term(Var<double> x, Var<double> W, Var<double> b, std::size_t g, std::size_t d) {
  return matmul(x, gate_rows(W, g, d), false, true) + gate_cols(b, g, d);
}

// h [N, d] and c [N, d] (rows in node order); `u_mask` (rows in node order, or empty) multiplies u.
Cell oracle(Tape<double>& tape, const ChildSumTreeLSTM<double>& net, const TreeStructure& tree, Var<double> inputs,
            const Tensor<double>* u_mask = nullptr) {
  const std::size_t n = tree.size(), d = net.hidden_size();
  Var<double> W = tape.param(net.W), b = tape.param(net.b), U = tape.param(net.U_iou), Uf = tape.param(net.U_f);
  std::vector<Cell> cells(n);
  for (int j : tree.order) {
    Var<double> x = slice(inputs, 0, j, j + 1);
    const auto& kids = tree.children[j];
    Var<double> zi = input_term(x, W, b, 0, d), zo = input_term(x, W, b, 1, d), zu = input_term(x, W, b, 2, d);
    if (!kids.empty()) {
      Var<double> h_sum = cells[kids[0]].h;  // h̃ = Σ_k h_k
      for (std::size_t k = 1; k < kids.size(); ++k) h_sum = h_sum + cells[kids[k]].h;
      zi = zi + matmul(h_sum, gate_rows(U, 0, d), false, true);
      zo = zo + matmul(h_sum, gate_rows(U, 1, d), false, true);
      zu = zu + matmul(h_sum, gate_rows(U, 2, d), false, true);
    }
    Var<double> u = tanh(zu);
    if (u_mask) u = mask_mul(u, row_of(*u_mask, static_cast<std::size_t>(j)));
    Var<double> c = sigmoid(zi) * u;
    for (int k : kids) {  // f_jk = σ(W_f x + U_f h_k + b_f), one per child
      Var<double> f = sigmoid(input_term(x, W, b, 3, d) + matmul(cells[k].h, Uf, false, true));
      c = c + f * cells[k].c;
    }
    cells[j] = {sigmoid(zo) * tanh(c), c};
  }
  std::vector<Var<double>> hs, cs;
  for (const Cell& cell : cells) {
    hs.push_back(cell.h);
    cs.push_back(cell.c);
  }
  return {concat(hs, 0), concat(cs, 0)};
}

Tensor<double> random_inputs(std::size_t n, std::size_t e, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return init::normal<double>({n, e}, 1.0, rng);
}

// The trees of the gradient checks: a leaf; nodes with 0, 1, 2 and 3 children; repeated
// identical subtrees (with identical inputs: equal values, gradients summed over copies); a
// dependency tree from CoNLL-U (word order is not bottom-up); random trees.
std::vector<std::pair<std::string, TreeStructure>> test_trees() {
  std::vector<std::pair<std::string, TreeStructure>> out;
  out.push_back({"leaf", bracketed("(A x)")});
  out.push_back({"0..3 children", bracketed("(A (B (C x) (D y) (E z)) (F (G w)) (H (I v) (J u)))")});
  out.push_back({"repeated", bracketed("(R (A (a x) (b y)) (A (a x) (b y)) (A (a x) (b y)))")});
  out.push_back({"unary chain", bracketed("(A (B (C (D x))))")});
  // the root's children on levels 0, 1 and 2; a level whose nodes have 1 and 2 children
  out.push_back({"mixed levels", bracketed("(A (B x) (C (D y)) (E (F (G z)) (H (I v) (J u))))")});
  const std::string conllu =
      "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
      "3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\t_\n4\ton\ton\tADP\tIN\t_\t6\tcase\t_\t_\n"
      "5\tthe\tthe\tDET\tDT\t_\t6\tdet\t_\t_\n6\tmat\tmat\tNOUN\tNN\t_\t3\tobl\t_\t_\n7\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n";
  out.push_back({"dependency", data::parse_conllu(conllu).at(0).tree()});
  out.push_back({"star", data::structure_from_parents({3, 3, 3, -1, 3, 3, 3, 3, 3, 3, 3, 3})});  // 11 children
  std::mt19937_64 rng(21);
  for (std::size_t n : {5, 9, 30}) out.push_back({"random " + std::to_string(n), random_tree(n, rng)});
  return out;
}

// For "repeated": the same input row for equal positions of the three copies.
Tensor<double> inputs_for(const std::string& name, const TreeStructure& t, std::size_t e, std::uint64_t seed) {
  Tensor<double> x = random_inputs(t.size(), e, seed);
  if (name == "repeated")  // nodes 0-2, 3-5, 6-8 are the three (a, b, A) copies
    for (std::size_t copy = 1; copy < 3; ++copy)
      for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t col = 0; col < e; ++col) x(copy * 3 + r, col) = x(r, col);
  return x;
}

}  // namespace

// ---- values and gradients --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(matches_the_composed_ops_oracle) {
  const std::size_t e = 3, d = 4;
  std::mt19937_64 rng(1);
  ChildSumTreeLSTM<double> net(e, d, rng);
  randomise(net, 2);
  for (const auto& [name, tree] : test_trees()) {
    BOOST_TEST_CONTEXT(name) {
      const Tensor<double> x = inputs_for(name, tree, e, 3);
      const Tensor<double> R = random_inputs(tree.size(), d, 4);  // loss = Σ R⊙h + Σ R⊙c
      std::vector<Tensor<double>> values, grads, input_grads;
      for (int run = 0; run < 2; ++run) {
        for (auto* p : net.parameters()) p->zero_grad();
        Tape<double> tape;
        Var<double> in = tape.input(x);
        Var<double> h, c;
        if (run == 0) {
          const auto out = net.forward(tape, tree, in);
          h = out.h;
          c = out.c;
          BOOST_TEST(testing::max_abs_diff(out.root.value(), row_of(h.value(), static_cast<std::size_t>(tree.root()))) == 0);
        } else {
          const Cell out = oracle(tape, net, tree, in);
          h = out.h;
          c = out.c;
        }
        values.push_back(h.value());
        values.push_back(c.value());
        Var<double> Rv = tape.constant(R);
        tape.backward(sum(h * Rv) + sum(c * Rv));
        for (auto* p : net.parameters()) grads.push_back(p->grad);
        input_grads.push_back(in.grad());
      }
      BOOST_TEST(testing::max_abs_diff(values[0], values[2]) < 1e-12);
      BOOST_TEST(testing::max_abs_diff(values[1], values[3]) < 1e-12);
      BOOST_TEST(testing::max_abs_diff(input_grads[0], input_grads[1]) < 1e-11);
      for (std::size_t k = 0; k < 4; ++k) BOOST_TEST(testing::max_abs_diff(grads[k], grads[4 + k]) < 1e-11, k);
      if (name == "repeated")  // the three copies of a subtree have equal h
        for (std::size_t col = 0; col < d; ++col) {
          BOOST_TEST(values[0](2, col) == values[0](5, col));
          BOOST_TEST(values[0](2, col) == values[0](8, col));
        }
    }
  }
}

BOOST_AUTO_TEST_CASE(gradcheck_in_double) {
  const std::size_t e = 3, d = 3;
  std::mt19937_64 rng(5);
  ChildSumTreeLSTM<double> net(e, d, rng);
  randomise(net, 6);
  GradcheckOptions options;  // eps 1e-6, atol 1e-5, rtol 1e-3
  options.eps = 1e-6;
  options.atol = 1e-5;
  options.rtol = 1e-3;
  bool saw[4] = {false, false, false, false};
  for (const auto& [name, tree] : test_trees()) {
    for (std::size_t i = 0; i < tree.size(); ++i) saw[std::min<std::size_t>(tree.children[i].size(), 3)] = true;
    BOOST_TEST_CONTEXT(name) {
      auto f = [&, &tree = tree](Tape<double>& t, const std::vector<Var<double>>& in) {
        const auto out = net.forward(t, tree, in[0]);
        return concat<double>({out.h, out.c}, 1);
      };
      const GradcheckResult r = gradcheck(f, {inputs_for(name, tree, e, 7)}, net.parameters(), options);
      BOOST_TEST(r.ok, r.message());
      BOOST_TEST(r.checked == net.parameter_count() + tree.size() * e);
    }
  }
  BOOST_TEST((saw[0] && saw[1] && saw[2] && saw[3]));
  BOOST_TEST(max_children(test_trees()[1].second) == 3u);
}

BOOST_AUTO_TEST_CASE(cell_dropout_gradcheck_and_oracle) {
  const std::size_t e = 2, d = 3;
  std::mt19937_64 rng(8);
  ChildSumTreeLSTM<double> net(e, d, rng, ChildSumTreeLSTMOptions().with_cell_dropout(0.4));
  randomise(net, 9);
  const TreeStructure tree = test_trees()[1].second;
  const Tensor<double> x = random_inputs(tree.size(), e, 10);
  auto f = [&](Tape<double>& t, const std::vector<Var<double>>& in) {
    std::mt19937_64 drop(11);
    return net.forward(t, tree, in[0], &drop).h;
  };
  const GradcheckResult r = gradcheck(f, {x}, net.parameters());
  BOOST_TEST(r.ok, r.message());
  // The mask: draw it as the layer does (level by level from the leaves, one [nodes, d] mask
  // per level, rows in the order of tree.order) and run the oracle with it.
  Tape<double> tape;
  std::mt19937_64 drop(11);
  Tensor<double> mask = zeros<double>({tree.size(), d});
  std::vector<std::size_t> level(tree.size(), 0);
  std::vector<std::vector<int>> at_level(1);
  for (int j : tree.order) {
    for (int k : tree.children[j]) level[j] = std::max(level[j], level[k] + 1);
    if (level[j] >= at_level.size()) at_level.resize(level[j] + 1);
    at_level[level[j]].push_back(j);
  }
  BOOST_TEST(at_level.size() == 3u);
  for (const std::vector<int>& nodes : at_level) {
    Var<double> ones = tape.constant(full<double>({nodes.size(), d}, 1.0));
    const Tensor<double> m = dropout(ones, 0.4, true, drop).value();
    for (std::size_t r = 0; r < nodes.size(); ++r)
      for (std::size_t col = 0; col < d; ++col) mask(nodes[r], col) = m(r, col);
  }
  Var<double> in = tape.input(x);
  std::mt19937_64 again(11);
  const Tensor<double> layer = net.forward(tape, tree, in, &again).h.value();
  BOOST_TEST(testing::max_abs_diff(layer, oracle(tape, net, tree, in, &mask).h.value()) < 1e-12);
  net.eval();  // no dropout in evaluation mode, and no generator needed
  BOOST_TEST(testing::max_abs_diff(net.forward(tape, tree, in).h.value(), oracle(tape, net, tree, in).h.value()) < 1e-12);
}

// A minibatch as one forest gives each tree's values and the summed gradients of the trees run
// one by one.
BOOST_AUTO_TEST_CASE(trees_joined_into_a_forest_match_separate_runs) {
  const std::size_t e = 3, d = 4;
  std::mt19937_64 rng(22);
  ChildSumTreeLSTM<double> net(e, d, rng);
  randomise(net, 23);
  std::vector<TreeStructure> trees;
  std::vector<Tensor<double>> xs;
  for (const auto& [name, tree] : test_trees()) {
    trees.push_back(tree);
    xs.push_back(inputs_for(name, tree, e, 24 + trees.size()));
  }
  std::vector<std::size_t> offsets;
  const TreeStructure forest = data::join_trees(trees, &offsets);
  BOOST_CHECK_NO_THROW(data::check_structure(forest, false));
  BOOST_TEST(offsets.size() == trees.size());
  // separately: Σ_t Σ root h_t
  std::vector<Tensor<double>> h_alone;
  Tape<double> alone;
  std::vector<Var<double>> roots;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    const auto out = net.forward(alone, trees[t], alone.constant(xs[t]));
    h_alone.push_back(out.h.value());
    roots.push_back(out.root);
  }
  alone.backward(sum(concat(roots, 0)));
  std::vector<Tensor<double>> grads;
  for (auto* p : net.parameters()) {
    grads.push_back(p->grad);
    p->zero_grad();
  }
  // as one forest
  Tape<double> joined;
  std::vector<Var<double>> x_parts;
  for (const auto& x : xs) x_parts.push_back(joined.constant(x));
  const auto out = net.forward(joined, forest, concat(x_parts, 0));
  std::vector<Var<double>> forest_roots;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    const std::size_t r = offsets[t] + static_cast<std::size_t>(trees[t].root());
    forest_roots.push_back(slice(out.h, 0, r, r + 1));
    const std::size_t n = trees[t].size();
    Tensor<double> rows = zeros<double>({n, d});
    std::copy(out.h.value().data() + offsets[t] * d, out.h.value().data() + (offsets[t] + n) * d, rows.data());
    BOOST_TEST(testing::max_abs_diff(rows, h_alone[t]) < 1e-12, "tree " << t);
  }
  joined.backward(sum(concat(forest_roots, 0)));
  const auto params = net.parameters();
  for (std::size_t k = 0; k < params.size(); ++k)
    BOOST_TEST(testing::max_abs_diff(params[k]->grad, grads[k]) < 1e-11, params[k]->name);
}

BOOST_AUTO_TEST_CASE(ten_thousand_node_chain_needs_no_recursion) {
  const TreeStructure tree = chain(10000);
  BOOST_REQUIRE(tree.depth() == 10000);
  std::mt19937_64 rng(12);
  for (int precision = 0; precision < 2; ++precision) {
    auto run = [&](auto zero) {
      using T = decltype(zero);
      ChildSumTreeLSTM<T> net(3, 4, rng);
      Tape<T> tape;
      Var<T> x = tape.input(init::normal<T>({tree.size(), 3}, 1.0, rng));
      const auto out = net.forward(tape, tree, x);
      BOOST_TEST(out.h.dim(0) == 10000u);
      tape.backward(sum(out.root));
      double norm = 0;
      for (auto* p : net.parameters())
        for (T g : p->grad) {
          BOOST_TEST_REQUIRE(std::isfinite(double(g)));
          norm += double(g) * double(g);
        }
      BOOST_TEST(norm > 0);
      // the leaf at the bottom of the chain (node 9999) still gets a finite gradient
      for (std::size_t col = 0; col < 3; ++col) BOOST_TEST(std::isfinite(double(x.grad()(9999, col))));
    };
    if (precision == 0) run(float(0));
    else run(double(0));
  }
}

BOOST_AUTO_TEST_CASE(parallel_batch_gradients_bit_identical_for_1_and_2_threads) {
  std::mt19937_64 rng(13);
  const std::size_t e = 5, d = 6, classes = 3;
  std::vector<TreeStructure> trees;
  std::vector<Tensor<float>> inputs;
  std::vector<std::int64_t> labels;
  for (int i = 0; i < 17; ++i) {
    trees.push_back(random_tree(std::uniform_int_distribution<std::size_t>(1, 15)(rng), rng));
    inputs.push_back(init::normal<float>({trees.back().size(), e}, 1.0, rng));
    labels.push_back(i % 3);
  }
  ChildSumTreeLSTM<float> net(e, d, rng, ChildSumTreeLSTMOptions().with_cell_dropout(0.2));
  Linear<float> classifier(d, classes, rng);
  ParameterList<float> params = net.parameters();
  for (auto* p : classifier.parameters()) params.push_back(p);
  auto loss_of = [&](Tape<float>& tape, std::size_t i) {
    std::mt19937_64 drop(i);  // example i's own dropout generator
    const auto out = net.forward(tape, trees[i], tape.constant(inputs[i]), &drop);
    return cross_entropy(classifier.forward(tape, out.root), {labels[i]});
  };
  std::vector<std::vector<Tensor<float>>> grads;
  std::vector<float> losses;
  for (int threads : {1, 2}) {
    for (auto* p : params) p->zero_grad();
    ParallelOptions options;
    options.threads = threads;
    options.chunk_size = 3;
    losses.push_back(parallel_batch<float>(trees.size(), loss_of, options));
    grads.emplace_back();
    for (auto* p : params) grads.back().push_back(p->grad);
  }
  BOOST_TEST(losses[0] == losses[1]);
  BOOST_TEST(std::isfinite(losses[0]));
  for (std::size_t k = 0; k < params.size(); ++k) {
    BOOST_TEST_CONTEXT(params[k]->name) {
      const Tensor<float>& g = grads[0][k];
      BOOST_TEST(std::memcmp(grads[1][k].data(), g.data(), g.size() * sizeof(float)) == 0);
      float scale = 0;
      for (float v : g) scale = std::max(scale, std::abs(v));
      BOOST_TEST(scale > 0);
    }
  }
}

// ---- parameters and errors -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parameter_names_and_shapes) {
  std::mt19937_64 rng(14);
  ChildSumTreeLSTM<float> net(5, 4, rng);
  const auto params = net.parameters();
  BOOST_TEST_REQUIRE(params.size() == 4u);
  const std::vector<std::string> names = {"W", "b", "U_iou", "U_f"};
  const std::vector<Shape> shapes = {{16, 5}, {1, 16}, {12, 4}, {4, 4}};
  for (std::size_t k = 0; k < 4; ++k) {
    BOOST_TEST(params[k]->name == names[k]);
    BOOST_TEST(to_shape(params[k]->value.shape()) == shapes[k]);
  }
  BOOST_TEST(net.input_size() == 5u);
  BOOST_TEST(net.hidden_size() == 4u);
  for (float v : net.b.value) BOOST_TEST(v == 0.0f);
}

BOOST_AUTO_TEST_CASE(rejects_bad_inputs) {
  std::mt19937_64 rng(15);
  ChildSumTreeLSTM<double> net(3, 2, rng);
  const TreeStructure tree = bracketed("(A (B x) (C y))");
  Tape<double> tape;
  BOOST_CHECK_THROW(net.forward(tape, tree, tape.input(zeros<double>({2, 3}))), ShapeError);  // rows != nodes
  BOOST_CHECK_THROW(net.forward(tape, tree, tape.input(zeros<double>({3, 4}))), ShapeError);  // wrong width
  TreeStructure bad = tree;
  bad.order = {2, 0, 1};  // parent before children
  BOOST_CHECK_THROW(net.forward(tape, bad, tape.input(zeros<double>({3, 3}))), std::invalid_argument);
  BOOST_CHECK_THROW(net.forward(tape, TreeStructure{}, tape.input(zeros<double>({1, 3}))), std::invalid_argument);
  ChildSumTreeLSTM<double> dropping(3, 2, rng, ChildSumTreeLSTMOptions().with_cell_dropout(0.5));
  try {  // the forward convention (layers/basic.hpp): the error names the module
    dropping.forward(tape, tree, tape.input(zeros<double>({3, 3})));
    BOOST_ERROR("no error for dropout in training mode without a generator");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).rfind("ChildSumTreeLSTM: ", 0) == 0u, e.what());
  }
  dropping.eval();
  BOOST_CHECK_NO_THROW(dropping.forward(tape, tree, tape.input(zeros<double>({3, 3}))));
  BOOST_CHECK_THROW(ChildSumTreeLSTM<double>(3, 2, rng, ChildSumTreeLSTMOptions().with_cell_dropout(1.0)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(ChildSumTreeLSTM<double>(0, 2, rng), std::invalid_argument);
  // a forest is fine
  const TreeStructure forest = data::structure_from_parents({-1, 0, -1});
  BOOST_TEST(net.forward(tape, forest, tape.input(zeros<double>({3, 3}))).h.dim(0) == 3u);
}

// ---- a classifier over dependency trees ------------------------------------------------------

// Root classification of tiny dependency trees: label 1 when the verb has a "not" (advmod)
// child. Embedding -> Child-Sum Tree-LSTM -> Linear on the root's h, Adam; the loss must fall.
BOOST_AUTO_TEST_CASE(classifier_on_conllu_trees_learns) {
  auto word = [](int id, const std::string& form, const std::string& upos, int head, const std::string& rel) {
    return std::to_string(id) + "\t" + form + "\t" + form + "\t" + upos + "\t_\t_\t" + std::to_string(head) + "\t" +
           rel + "\t_\t_\n";
  };
  std::string text;
  const std::vector<std::string> subjects = {"cats", "dogs", "birds", "we"}, verbs = {"sleep", "run", "sing"};
  std::vector<std::int64_t> labels;
  for (const auto& s : subjects)
    for (const auto& v : verbs)
      for (int negated = 0; negated < 2; ++negated) {
        text += "# text = " + s + (negated ? " do not " : " ") + v + "\n";
        if (negated)
          text += word(1, s, "NOUN", 4, "nsubj") + word(2, "do", "AUX", 4, "aux") + word(3, "not", "PART", 4, "advmod") +
                  word(4, v, "VERB", 0, "root") + word(5, ".", "PUNCT", 4, "punct");
        else
          text += word(1, s, "NOUN", 2, "nsubj") + word(2, v, "VERB", 0, "root") + word(3, ".", "PUNCT", 2, "punct");
        text += "\n";
        labels.push_back(negated);
      }
  const std::vector<data::ConlluSentence> sentences = data::parse_conllu(text, "inline");
  BOOST_TEST_REQUIRE(sentences.size() == 24u);
  const data::Vocab vocab = data::Vocab::build(data::count_forms(sentences));
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<TreeStructure> trees;
  for (const auto& s : sentences) {
    ids.push_back(data::form_ids(s, vocab));  // row i: word i = node i of the tree
    trees.push_back(s.tree());
  }
  std::mt19937_64 rng(16);
  Embedding<float> embedding(vocab.size(), 6, rng, 0.5);
  ChildSumTreeLSTM<float> lstm(6, 8, rng);
  Linear<float> classifier(8, 2, rng);
  ParameterList<float> params = embedding.parameters();
  for (auto* p : lstm.parameters()) params.push_back(p);
  for (auto* p : classifier.parameters()) params.push_back(p);
  Adam<float> opt(params, AdamOptions().with_lr(0.05));
  auto epoch_loss = [&](bool train) {
    opt.zero_grad();
    Tape<float> tape;
    std::vector<Var<float>> losses;
    for (std::size_t i = 0; i < trees.size(); ++i) {
      const auto out = lstm.forward(tape, trees[i], embedding.forward(tape, ids[i]));
      losses.push_back(cross_entropy(classifier.forward(tape, out.root), {labels[i]}));
    }
    Var<float> loss = sum(concat(losses, 0));
    const float value = loss.item() / float(trees.size());
    if (train) {
      tape.backward(loss);
      opt.step();
    }
    return value;
  };
  const float before = epoch_loss(false);
  for (int step = 0; step < 30; ++step) epoch_loss(true);
  const float after = epoch_loss(false);
  BOOST_TEST_MESSAGE("dependency classifier: mean loss " << before << " -> " << after << " in 30 steps");
  BOOST_TEST(before > 0.5f);
  BOOST_TEST(after < 0.25f * before);
}

// Real trees: the first 500 sentences of UD English EWT dev (skipped when shared/ is absent),
// word embeddings -> Child-Sum Tree-LSTM -> the root's UPOS as a toy target, one parallel_batch.
BOOST_AUTO_TEST_CASE(ud_ewt_dev_forward_backward) {
  const char* env = std::getenv("TAPENET_UD_DIR");
  const fs::path dir = env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared" / "data" / "ud-ewt";
  const fs::path path = dir / "en_ewt-ud-dev.conllu";
  if (!fs::exists(path)) {
    BOOST_TEST_MESSAGE("skipping UD EWT dev: " << path << " not found (set TAPENET_UD_DIR)");
    return;
  }
  std::vector<data::ConlluSentence> sentences = data::read_conllu(path.string());
  sentences.resize(500);
  const data::Vocab vocab = data::Vocab::build(data::count_forms(sentences));
  std::unordered_map<std::string, std::int64_t> tags;
  std::vector<std::vector<std::int64_t>> ids;
  std::vector<TreeStructure> trees;
  std::vector<std::int64_t> targets;
  std::size_t words = 0;
  for (const auto& s : sentences) {
    ids.push_back(data::form_ids(s, vocab));
    trees.push_back(s.tree());
    targets.push_back(tags.emplace(s.words[s.root()].upos, tags.size()).first->second);
    words += s.size();
  }
  std::mt19937_64 rng(17);
  Embedding<float> embedding(vocab.size(), 50, rng);
  ChildSumTreeLSTM<float> lstm(50, 50, rng);
  Linear<float> classifier(50, tags.size(), rng);
  auto loss_of = [&](Tape<float>& tape, std::size_t i) {
    const auto out = lstm.forward(tape, trees[i], embedding.forward(tape, ids[i]));
    return cross_entropy(classifier.forward(tape, out.root), {targets[i]});
  };
  const auto start = std::chrono::steady_clock::now();
  const float loss = parallel_batch<float>(trees.size(), loss_of, ParallelOptions{8, 2});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("UD EWT dev: " << trees.size() << " trees (" << words << " words), forward + backward in " << seconds
                                    << " s on 2 threads: " << trees.size() / seconds << " trees/s");
  BOOST_TEST(std::isfinite(loss));
  BOOST_TEST(loss > 0);
  double norm = 0;
  for (auto* p : lstm.parameters())
    for (float g : p->grad) norm += double(g) * double(g);
  BOOST_TEST(norm > 0);
}
