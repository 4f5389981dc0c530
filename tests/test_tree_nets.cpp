// Recursive nets over trees (RNN, RNTN, Tree-LSTM): forward values against the equations
// written as plain scalar loops, gradcheck of the composition functions and of the whole
// per-tree loss (fine and binary labels, with dropout), CoreNLP's leaf tanh, a 1000-deep
// degenerate tree, bit-identical gradients under parallel_batch with 1, 2 and 4 threads, a
// negation task learned with AdaGrad, parameter classes and L2, prediction, targets and
// input errors.
#define BOOST_TEST_MODULE tree_nets
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "autograd/parallel_batch.hpp"
#include "tests/testing.hpp"
#include "layers/tree_nets.hpp"
#include "optim/optimizer.hpp"

using namespace tapenet;
using tapenet::testing::randomise;
using data::LabelMode;
using data::TreeParseError;
using Vec = std::vector<double>;

namespace {

const TreeModel kModels[] = {TreeModel::RNN, TreeModel::RNTN, TreeModel::TreeLSTM};
const std::vector<std::string> kWords = {"w0", "w1", "w2", "w3", "w4", "w5"};

std::size_t classes_of(LabelMode mode) { return static_cast<std::size_t>(data::num_classes(mode)); }

// "<unk>" then w0..w5 (equal counts: lexicographic order).
data::Vocab word_vocab() {
  data::WordCounts counts;
  for (const auto& w : kWords) counts[w] = 1;
  return data::Vocab::build(counts);
}

// A random binary tree over `leaves` random words with random labels 0-4, built by
// merging random adjacent pairs of bracketed subtrees, then parsed (so post-order is the
// parser's). A fraction of the nodes loses its label afterwards.
data::Tree random_tree(std::size_t leaves, std::mt19937_64& rng, double unlabelled = 0.2) {
  std::uniform_int_distribution<std::size_t> word(0, kWords.size() - 1);
  std::uniform_int_distribution<int> label(0, 4);
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < leaves; ++i)
    parts.push_back("(" + std::to_string(label(rng)) + " " + kWords[word(rng)] + ")");
  while (parts.size() > 1) {
    const std::size_t k = std::uniform_int_distribution<std::size_t>(0, parts.size() - 2)(rng);
    parts[k] = "(" + std::to_string(label(rng)) + " " + parts[k] + " " + parts[k + 1] + ")";
    parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(k) + 1);
  }
  data::Tree tree = data::parse_tree(parts[0]);
  std::bernoulli_distribution drop(unlabelled);
  for (auto& node : tree.nodes)
    if (drop(rng)) node.label = data::kUnknownLabel;
  return tree;
}

// ((((w w) w) w) ... w): `leaves` leaves, depth `leaves`, built directly in post-order.
data::Tree left_branching_tree(std::size_t leaves, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> label(0, 4);
  data::Tree tree;
  tree.nodes.push_back({label(rng), -1, -1, kWords[0]});
  for (std::size_t i = 1; i < leaves; ++i) {
    const int left = static_cast<int>(tree.nodes.size()) - 1;
    tree.nodes.push_back({label(rng), -1, -1, kWords[i % kWords.size()]});
    tree.nodes.push_back({label(rng), left, left + 1, ""});
  }
  tree.root = static_cast<int>(tree.nodes.size()) - 1;
  return tree;
}

template <class T>
bool all_finite(const Tensor<T>& t) {
  for (T v : t)
    if (!std::isfinite(v)) return false;
  return true;
}

// ---- the equations as scalar loops ------------------------------------------------------------

Vec row_of(const Tensor<double>& m, std::size_t r) {
  const std::size_t c = m.shape()[1];
  return Vec(m.data() + r * c, m.data() + (r + 1) * c);
}
// M x + bias, with M [r, c] and bias [1, r].
Vec affine(const Tensor<double>& M, const Vec& x, const Tensor<double>& bias) {
  Vec y(M.shape()[0]);
  for (std::size_t r = 0; r < y.size(); ++r) {
    y[r] = bias.data()[r];
    for (std::size_t c = 0; c < x.size(); ++c) y[r] += M(r, c) * x[c];
  }
  return y;
}
Vec cat(Vec a, const Vec& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
double sig(double x) { return 1 / (1 + std::exp(-x)); }
// Entry j of gate block k (width d).
double at(const Vec& z, std::size_t k, std::size_t d, std::size_t j) { return z[k * d + j]; }

struct RefCell {
  Vec h, c;
};

RefCell ref_leaf(const TreeNet<double>& net, const Vec& w) {
  const std::size_t d = net.dim();
  if (net.model() != TreeModel::TreeLSTM) {  // w itself, or tanh(w) with leaf_tanh
    Vec p = w;
    if (net.options().leaf_tanh)
      for (double& v : p) v = std::tanh(v);
    return {p, {}};
  }
  const Vec z = affine(net.W.value, w, net.b_leaf->value);
  RefCell out{Vec(d), Vec(d)};
  const bool linear = net.options().leaf_cell == LeafCell::Linear;
  for (std::size_t j = 0; linear && j < d; ++j) {  // Tai et al.: c = z_c, h = σ(z_o)⊙tanh(c)
    out.c[j] = at(z, 0, d, j);
    out.h[j] = sig(at(z, 1, d, j)) * std::tanh(out.c[j]);
  }
  for (std::size_t j = 0; !linear && j < d; ++j) {
    out.c[j] = sig(at(z, 0, d, j)) * std::tanh(at(z, 2, d, j));
    out.h[j] = sig(at(z, 1, d, j)) * std::tanh(out.c[j]);
  }
  return out;
}

RefCell ref_internal(const TreeNet<double>& net, const RefCell& l, const RefCell& r) {
  const std::size_t d = net.dim();
  const Vec x = cat(l.h, r.h);
  RefCell out{Vec(d), Vec(d)};
  if (net.model() == TreeModel::TreeLSTM) {
    const Vec z = affine(net.U->value, x, net.b.value);
    for (std::size_t j = 0; j < d; ++j) {
      out.c[j] = sig(at(z, 0, d, j)) * std::tanh(at(z, 4, d, j)) + sig(at(z, 1, d, j)) * l.c[j] +
                 sig(at(z, 2, d, j)) * r.c[j];
      out.h[j] = sig(at(z, 3, d, j)) * std::tanh(out.c[j]);
    }
    return out;
  }
  Vec pre = affine(net.W.value, x, net.b.value);
  for (std::size_t k = 0; net.V && k < d; ++k)
    for (std::size_t i = 0; i < 2 * d; ++i)
      for (std::size_t j = 0; j < 2 * d; ++j) pre[k] += x[i] * net.V->value(k, i, j) * x[j];
  for (std::size_t j = 0; j < d; ++j) out.h[j] = std::tanh(pre[j]);
  return out;
}

std::vector<Vec> ref_vectors(const TreeNet<double>& net, const data::Tree& tree, const std::vector<std::int64_t>& ids) {
  std::vector<RefCell> cells(tree.size());
  std::vector<Vec> h;
  std::size_t leaf = 0;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    const auto& n = tree.nodes[i];
    cells[i] = n.is_leaf() ? ref_leaf(net, row_of(net.embedding.table.value, ids[leaf++]))
                           : ref_internal(net, cells[n.left], cells[n.right]);
    h.push_back(cells[i].h);
  }
  return h;
}

// Σ over counted nodes of log Σ_c e^{z_c} - z_target, with z = classifier(h).
// The root (the last node) weighs root_weight.
double ref_loss(const TreeNet<double>& net, const std::vector<Vec>& h, const std::vector<std::int64_t>& targets) {
  double loss = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (targets[i] == kIgnoreTarget) continue;
    const Vec z = affine(net.classifier.W.value, h[i], net.classifier.b->value);
    double total = 0;
    for (double v : z) total += std::exp(v);
    const double weight = i + 1 == h.size() ? net.options().root_weight : 1.0;
    loss += weight * (std::log(total) - z[static_cast<std::size_t>(targets[i])]);
  }
  return loss;
}

// ---- training helpers --------------------------------------------------------------------------

struct Example {
  data::Tree tree;
  std::vector<std::int64_t> ids;
};

std::vector<Example> examples_from(const std::vector<data::Tree>& trees, const data::Vocab& vocab) {
  std::vector<Example> out;
  for (const auto& t : trees) out.push_back({t, leaf_word_ids(t, vocab)});
  return out;
}

// Fraction of counted nodes (over all trees) whose predicted class is the target.
double node_accuracy(const TreeNet<float>& net, const std::vector<Example>& examples, LabelMode mode) {
  std::size_t right = 0, counted = 0;
  for (const auto& e : examples) {
    const std::vector<int> predicted = net.predict(e.tree, e.ids);
    const std::vector<std::int64_t> targets = node_targets(e.tree, mode);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (targets[i] == kIgnoreTarget) continue;
      ++counted;
      right += predicted[i] == targets[i];
    }
  }
  return counted ? double(right) / double(counted) : 0.0;
}

}  // namespace

// ---- forward values ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(forward_matches_scalar_equations) {
  const data::Vocab vocab = word_vocab();
  const data::Tree tree = data::parse_tree("(3 (1 (4 w0) (2 w1)) (0 (2 w5) (3 (1 w2) (4 w0))))");
  const auto ids = leaf_word_ids(tree, vocab);
  for (TreeModel model : kModels) {
    BOOST_TEST_CONTEXT(tree_model_name(model)) {
      std::mt19937_64 rng(1);
      TreeNet<double> net(vocab.size(), 3, 5, model, rng);
      randomise(net, 2);
      Tape<double> tape;
      const TreeOutput<double> out = net.forward(tape, tree, ids, LabelMode::Fine);
      const std::vector<Vec> h = ref_vectors(net, tree, ids);
      BOOST_TEST(to_shape(out.vectors.shape()) == Shape({tree.size(), 3}));
      BOOST_TEST(to_shape(out.logits.shape()) == Shape({tree.size(), 5}));
      for (std::size_t i = 0; i < tree.size(); ++i)
        for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(out.vectors.value()(i, j) == h[i][j], boost::test_tools::tolerance(1e-12));
      // The loss is a SUM over the nodes, not a mean.
      BOOST_TEST(out.loss.item() == ref_loss(net, h, out.targets), boost::test_tools::tolerance(1e-12));
    }
  }
}

// ---- gradients -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gradcheck_composition_functions) {
  const data::Vocab vocab = word_vocab();
  for (TreeModel model : kModels) {
    std::mt19937_64 rng(3);
    TreeNet<double> net(vocab.size(), 3, 5, model, rng);
    randomise(net, 4);
    for (std::size_t leaves : {3, 4, 5}) {
      BOOST_TEST_CONTEXT(tree_model_name(model) << ", " << leaves << " leaves") {
        const data::Tree tree = random_tree(leaves, rng);
        const auto ids = leaf_word_ids(tree, vocab);
        auto f = [&](Tape<double>& t, const std::vector<Var<double>>&) { return net.compose(t, tree, ids); };
        const GradcheckResult r = gradcheck(f, {}, net.parameters());
        BOOST_TEST(r.ok, r.message());
        BOOST_TEST(r.checked == net.parameter_count());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gradcheck_whole_tree_loss) {
  const data::Vocab vocab = word_vocab();
  for (TreeModel model : kModels)
    for (LabelMode mode : {LabelMode::Fine, LabelMode::Binary}) {
      std::mt19937_64 rng(5);
      // The Tree-LSTM runs with dropout, its mask re-drawn from the same seed every call.
      const double p = model == TreeModel::TreeLSTM ? 0.3 : 0.0;
      TreeNet<double> net(vocab.size(), 3, classes_of(mode), model, rng, TreeNetOptions().with_dropout(p));
      randomise(net, 6);
      for (std::size_t leaves : {3, 5}) {
        BOOST_TEST_CONTEXT(tree_model_name(model) << (mode == LabelMode::Fine ? ", fine, " : ", binary, ") << leaves) {
          const data::Tree tree = random_tree(leaves, rng);
          const auto ids = leaf_word_ids(tree, vocab);
          auto f = [&](Tape<double>& t, const std::vector<Var<double>>&) {
            std::mt19937_64 drop(9);
            return net.forward(t, tree, ids, mode, &drop).loss;
          };
          const GradcheckResult r = gradcheck(f, {}, net.parameters());
          BOOST_TEST(r.ok, r.message());
          BOOST_TEST(r.checked == net.parameter_count());
          Tape<double> tape;
          BOOST_TEST(net.forward(tape, tree, ids, mode, &rng).loss.item() > 0);  // some node is counted
        }
      }
    }
}

// CoreNLP's leaf tanh (RNN, RNTN): a leaf's vector is tanh(w). Forward against the scalar
// equations, gradcheck of the node vectors and of the whole loss (fine and binary).
BOOST_AUTO_TEST_CASE(leaf_tanh_forward_and_gradcheck) {
  const data::Vocab vocab = word_vocab();
  for (TreeModel model : {TreeModel::RNN, TreeModel::RNTN})
    for (LabelMode mode : {LabelMode::Fine, LabelMode::Binary}) {
      std::mt19937_64 rng(41);
      TreeNet<double> net(vocab.size(), 3, classes_of(mode), model, rng, TreeNetOptions().with_leaf_tanh());
      randomise(net, 42, 1.0);  // word vectors of order 1, where tanh(w) differs from w
      for (std::size_t leaves : {1, 3, 5}) {
        BOOST_TEST_CONTEXT(tree_model_name(model) << (mode == LabelMode::Fine ? ", fine, " : ", binary, ") << leaves) {
          const data::Tree tree = random_tree(leaves, rng, 0.0);
          const auto ids = leaf_word_ids(tree, vocab);
          Tape<double> tape;
          const TreeOutput<double> out = net.forward(tape, tree, ids, mode);
          const std::vector<Vec> h = ref_vectors(net, tree, ids);
          for (std::size_t i = 0; i < tree.size(); ++i)
            for (std::size_t j = 0; j < 3; ++j)
              BOOST_TEST(out.vectors.value()(i, j) == h[i][j], boost::test_tools::tolerance(1e-12));
          BOOST_TEST(out.loss.item() == ref_loss(net, h, out.targets), boost::test_tools::tolerance(1e-12));
          auto vectors = [&](Tape<double>& t, const std::vector<Var<double>>&) { return net.compose(t, tree, ids); };
          auto loss = [&](Tape<double>& t, const std::vector<Var<double>>&) { return net.forward(t, tree, ids, mode).loss; };
          for (const GradcheckResult& r : {gradcheck(vectors, {}, net.parameters()), gradcheck(loss, {}, net.parameters())}) {
            BOOST_TEST(r.ok, r.message());
            BOOST_TEST(r.checked == net.parameter_count());
          }
        }
      }
    }
  // A leaf is tanh(w), not w.
  std::mt19937_64 rng(43);
  TreeNet<double> net(vocab.size(), 3, 5, TreeModel::RNTN, rng, TreeNetOptions().with_leaf_tanh());
  randomise(net, 44, 1.0);
  Tape<double> tape;
  const Tensor<double> leaf = net.compose(tape, data::parse_tree("(2 w1)"), {2}).value();
  for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(leaf(0, j) == std::tanh(net.embedding.table.value(2, j)), boost::test_tools::tolerance(1e-12));
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::TreeLSTM, rng, TreeNetOptions().with_leaf_tanh()),
                    std::invalid_argument);
}

// root_weight: the root's loss term is scaled, every other node's is not. The loss against
// the scalar equations and its gradcheck, for every model and both label modes.
BOOST_AUTO_TEST_CASE(root_weight_loss_and_gradcheck) {
  const data::Vocab vocab = word_vocab();
  for (TreeModel model : kModels)
    for (LabelMode mode : {LabelMode::Fine, LabelMode::Binary}) {
      std::mt19937_64 rng(61);
      TreeNet<double> net(vocab.size(), 3, classes_of(mode), model, rng, TreeNetOptions().with_root_weight(3));
      randomise(net, 62, 0.5);
      BOOST_TEST_CONTEXT(tree_model_name(model) << (mode == LabelMode::Fine ? ", fine" : ", binary")) {
        data::Tree tree = random_tree(4, rng, 0.0);
        tree.nodes[static_cast<std::size_t>(tree.root)].label = 4;  // a root that counts in both modes
        const auto ids = leaf_word_ids(tree, vocab);
        Tape<double> tape;
        const TreeOutput<double> out = net.forward(tape, tree, ids, mode);
        const double expected = ref_loss(net, ref_vectors(net, tree, ids), out.targets);
        BOOST_TEST(out.loss.item() == expected, boost::test_tools::tolerance(1e-12));
        auto loss = [&](Tape<double>& t, const std::vector<Var<double>>&) { return net.forward(t, tree, ids, mode).loss; };
        const GradcheckResult r = gradcheck(loss, {}, net.parameters());
        BOOST_TEST(r.ok, r.message());
        BOOST_TEST(r.checked == net.parameter_count());
      }
    }
  std::mt19937_64 rng(63);
  for (double bad : {0.0, -1.0, std::nan(""), HUGE_VAL})
    BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::RNTN, rng, TreeNetOptions().with_root_weight(bad)),
                      std::invalid_argument);
}

// Tai et al.'s Tree-LSTM leaf (LeafCell::Linear): forward against the scalar equations,
// gradcheck of the node vectors and of the whole loss with dropout (fine and binary).
BOOST_AUTO_TEST_CASE(linear_leaf_cell_forward_and_gradcheck) {
  const data::Vocab vocab = word_vocab();
  for (LabelMode mode : {LabelMode::Fine, LabelMode::Binary}) {
    std::mt19937_64 rng(51);
    const auto options = TreeNetOptions().with_leaf_cell(LeafCell::Linear).with_dropout(0.3);
    TreeNet<double> net(vocab.size(), 3, classes_of(mode), TreeModel::TreeLSTM, rng, options);
    BOOST_TEST(net.W.value.shape()[0] == 6u);  // blocks c, o
    BOOST_TEST(net.b_leaf->value.shape()[1] == 6u);
    randomise(net, 52, 1.0);
    net.eval();
    for (std::size_t leaves : {1, 3, 5}) {
      BOOST_TEST_CONTEXT((mode == LabelMode::Fine ? "fine, " : "binary, ") << leaves) {
        const data::Tree tree = random_tree(leaves, rng, 0.0);
        const auto ids = leaf_word_ids(tree, vocab);
        Tape<double> tape;
        const TreeOutput<double> out = net.forward(tape, tree, ids, mode);  // eval: no dropout
        const std::vector<Vec> h = ref_vectors(net, tree, ids);
        for (std::size_t i = 0; i < tree.size(); ++i)
          for (std::size_t j = 0; j < 3; ++j)
            BOOST_TEST(out.vectors.value()(i, j) == h[i][j], boost::test_tools::tolerance(1e-12));
        BOOST_TEST(out.loss.item() == ref_loss(net, h, out.targets), boost::test_tools::tolerance(1e-12));
        net.train();
        auto vectors = [&](Tape<double>& t, const std::vector<Var<double>>&) { return net.compose(t, tree, ids); };
        auto loss = [&](Tape<double>& t, const std::vector<Var<double>>&) {
          std::mt19937_64 drop(9);
          return net.forward(t, tree, ids, mode, &drop).loss;
        };
        for (const GradcheckResult& r : {gradcheck(vectors, {}, net.parameters()), gradcheck(loss, {}, net.parameters())}) {
          BOOST_TEST(r.ok, r.message());
          BOOST_TEST(r.checked == net.parameter_count());
        }
        net.eval();
      }
    }
  }
  std::mt19937_64 rng(53);
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::RNTN, rng, TreeNetOptions().with_leaf_cell(LeafCell::Linear)),
                    std::invalid_argument);
}

// A Tree-LSTM whose word vectors (e = 2) are narrower than its nodes (d = 3), with both leaf
// cells: forward against the scalar equations and gradcheck of the whole loss.
BOOST_AUTO_TEST_CASE(word_dim_differs_from_node_dim) {
  const data::Vocab vocab = word_vocab();
  for (LeafCell cell : {LeafCell::Gated, LeafCell::Linear}) {
    std::mt19937_64 rng(61);
    const auto options = TreeNetOptions().with_leaf_cell(cell).with_word_dim(2);
    TreeNet<double> net(vocab.size(), 3, 5, TreeModel::TreeLSTM, rng, options);
    BOOST_TEST(net.embedding.table.value.shape()[1] == 2u);
    BOOST_TEST(net.W.value.shape()[1] == 2u);
    randomise(net, 62, 1.0);
    net.eval();
    for (std::size_t leaves : {1, 4}) {
      BOOST_TEST_CONTEXT((cell == LeafCell::Gated ? "gated, " : "linear, ") << leaves) {
        const data::Tree tree = random_tree(leaves, rng, 0.0);
        const auto ids = leaf_word_ids(tree, vocab);
        Tape<double> tape;
        const TreeOutput<double> out = net.forward(tape, tree, ids, LabelMode::Fine);
        const std::vector<Vec> h = ref_vectors(net, tree, ids);
        for (std::size_t i = 0; i < tree.size(); ++i)
          for (std::size_t j = 0; j < 3; ++j)
            BOOST_TEST(out.vectors.value()(i, j) == h[i][j], boost::test_tools::tolerance(1e-12));
        auto loss = [&](Tape<double>& t, const std::vector<Var<double>>&) {
          return net.forward(t, tree, ids, LabelMode::Fine).loss;
        };
        const GradcheckResult r = gradcheck(loss, {}, net.parameters());
        BOOST_TEST(r.ok, r.message());
        BOOST_TEST(r.checked == net.parameter_count());
      }
    }
  }
  std::mt19937_64 rng(63);
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::RNTN, rng, TreeNetOptions().with_word_dim(2)),
                    std::invalid_argument);
}

// Dropout on the word vectors (every model), on the Tree-LSTM's cell candidates and on the
// RNN/RNTN's composition inputs: the
// masks change the training loss but not the eval one, and the loss with fixed masks
// passes gradcheck.
BOOST_AUTO_TEST_CASE(input_and_cell_dropout_gradcheck) {
  const data::Vocab vocab = word_vocab();
  struct Case {
    TreeModel model;
    LeafCell cell;
    double cell_dropout, composition_dropout;
  };
  for (const Case& k : {Case{TreeModel::RNTN, LeafCell::Gated, 0.0, 0.4}, Case{TreeModel::RNN, LeafCell::Gated, 0.0, 0.4},
                        Case{TreeModel::TreeLSTM, LeafCell::Gated, 0.4, 0.0},
                        Case{TreeModel::TreeLSTM, LeafCell::Linear, 0.4, 0.0}}) {
    BOOST_TEST_CONTEXT(tree_model_name(k.model) << (k.cell == LeafCell::Linear ? ", linear leaf" : "")) {
      std::mt19937_64 rng(71);
      const auto options = TreeNetOptions()
                               .with_input_dropout(0.3)
                               .with_cell_dropout(k.cell_dropout)
                               .with_composition_dropout(k.composition_dropout)
                               .with_leaf_cell(k.cell);
      TreeNet<double> net(vocab.size(), 3, 5, k.model, rng, options);
      randomise(net, 72, 1.0);
      const data::Tree tree = random_tree(5, rng, 0.0);
      const auto ids = leaf_word_ids(tree, vocab);
      auto loss = [&](Tape<double>& t, const std::vector<Var<double>>&) {
        std::mt19937_64 drop(9);
        return net.forward(t, tree, ids, LabelMode::Fine, &drop).loss;
      };
      Tape<double> tape;
      const double training_loss = loss(tape, {}).item();
      net.eval();
      const double eval_loss = net.forward(tape, tree, ids, LabelMode::Fine).loss.item();
      BOOST_TEST(eval_loss == ref_loss(net, ref_vectors(net, tree, ids), node_targets(tree, LabelMode::Fine)),
                 boost::test_tools::tolerance(1e-12));
      BOOST_TEST(std::abs(training_loss - eval_loss) > 1e-6);
      net.train();
      const GradcheckResult r = gradcheck(loss, {}, net.parameters());
      BOOST_TEST(r.ok, r.message());
      BOOST_TEST(r.checked == net.parameter_count());
      BOOST_CHECK_THROW(net.forward(tape, tree, ids, LabelMode::Fine), std::invalid_argument);  // no generator
    }
  }
  std::mt19937_64 rng(73);
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::RNTN, rng, TreeNetOptions().with_cell_dropout(0.2)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::RNN, rng, TreeNetOptions().with_input_dropout(1.0)),
                    std::invalid_argument);
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::TreeLSTM, rng, TreeNetOptions().with_composition_dropout(0.2)),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(thousand_deep_left_branching_tree) {
  std::mt19937_64 rng(7);
  const data::Tree tree = left_branching_tree(1000, rng);
  BOOST_REQUIRE(tree.depth() == 1000);
  const auto ids = leaf_word_ids(tree, word_vocab());
  for (TreeModel model : kModels) {
    BOOST_TEST_CONTEXT(tree_model_name(model)) {
      TreeNet<double> net(word_vocab().size(), 4, 5, model, rng);
      Tape<double> tape;
      const TreeOutput<double> out = net.forward(tape, tree, ids, LabelMode::Fine);
      BOOST_TEST(std::isfinite(out.loss.item()));
      BOOST_TEST(out.logits.dim(0) == 1999u);
      tape.backward(out.loss);
      double norm = 0;
      for (auto* p : net.parameters()) {
        BOOST_TEST(all_finite(p->grad), p->name);
        for (double g : p->grad) norm += g * g;
      }
      BOOST_TEST(norm > 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(parallel_gradients_bit_identical_for_1_2_4_threads) {
  const data::Vocab vocab = word_vocab();
  std::mt19937_64 rng(11);
  std::vector<Example> examples;
  for (int i = 0; i < 20; ++i) {
    data::Tree t = random_tree(std::uniform_int_distribution<std::size_t>(2, 12)(rng), rng);
    examples.push_back({t, leaf_word_ids(t, vocab)});
  }
  for (TreeModel model : {TreeModel::RNTN, TreeModel::TreeLSTM}) {
    BOOST_TEST_CONTEXT(tree_model_name(model)) {
      TreeNet<float> net(vocab.size(), 6, 5, model, rng, TreeNetOptions().with_dropout(0.2));
      // Example i draws its dropout mask from its own generator seeded with i.
      auto loss_of = [&](Tape<float>& tape, std::size_t i) {
        std::mt19937_64 drop(i);
        return net.forward(tape, examples[i].tree, examples[i].ids, LabelMode::Fine, &drop).loss;
      };
      std::vector<std::vector<Tensor<float>>> grads;
      std::vector<float> losses;
      for (int threads : {1, 2, 4}) {
        for (auto* p : net.parameters()) p->zero_grad();
        ParallelOptions options;
        options.threads = threads;
        options.chunk_size = 3;
        losses.push_back(parallel_batch<float>(examples.size(), loss_of, options));
        grads.emplace_back();
        for (auto* p : net.parameters()) grads.back().push_back(p->grad);
      }
      // The reference: one tape per tree, summed in a plain loop (equal to rounding).
      for (auto* p : net.parameters()) p->zero_grad();
      float sequential = 0;
      for (std::size_t i = 0; i < examples.size(); ++i) {
        Tape<float> tape;
        Var<float> loss = loss_of(tape, i);
        sequential += loss.item();
        tape.backward(loss);
      }
      BOOST_TEST(losses[0] == sequential, boost::test_tools::tolerance(1e-4f));
      const auto params = net.parameters();
      for (std::size_t k = 0; k < params.size(); ++k) {
        BOOST_TEST_CONTEXT(params[k]->name) {
          const Tensor<float>& g1 = grads[0][k];
          for (std::size_t run = 1; run < grads.size(); ++run) {
            BOOST_TEST(losses[run] == losses[0]);
            BOOST_TEST(std::memcmp(grads[run][k].data(), g1.data(), g1.size() * sizeof(float)) == 0);
          }
          float diff = 0, scale = 0;
          for (std::size_t j = 0; j < g1.size(); ++j) {
            diff = std::max(diff, std::abs(g1.data()[j] - params[k]->grad.data()[j]));
            scale = std::max(scale, std::abs(g1.data()[j]));
          }
          BOOST_TEST(scale > 0);
          BOOST_TEST(diff <= 1e-4f * std::max(scale, 1.0f));
        }
      }
    }
  }
}

// ---- learning ------------------------------------------------------------------------------------

// Sentiment words, "very" (keeps the polarity), "not" (flips it) and double negation; every
// node is labelled (3 positive, 1 negative, 2 neutral for "not"/"very", dropped in binary).
std::vector<data::Tree> negation_trees() {
  std::vector<data::Tree> trees;
  for (const std::string w : {"good", "great", "fun", "bad", "dull", "awful"}) {
    const bool pos = w == "good" || w == "great" || w == "fun";
    const std::string s = pos ? "3" : "1", flip = pos ? "1" : "3";
    const std::string leaf = "(" + s + " " + w + ")";
    const std::string very = "(" + s + " (2 very) " + leaf + ")";
    const std::string negated = "(" + flip + " (2 not) " + leaf + ")";
    for (const std::string& line : {leaf, very, negated, "(" + flip + " (2 not) " + very + ")",
                                    "(" + s + " (2 not) " + negated + ")"})
      trees.push_back(data::parse_tree(line));
  }
  return trees;
}

BOOST_AUTO_TEST_CASE(learns_negation_with_adagrad) {
  const std::vector<data::Tree> trees = negation_trees();
  BOOST_REQUIRE(trees.size() == 30u);
  const data::Vocab vocab = data::Vocab::build(data::count_words(trees));
  const std::vector<Example> examples = examples_from(trees, vocab);
  std::mt19937_64 rng(13);
  TreeNet<float> net(vocab.size(), 8, 2, TreeModel::RNTN, rng);
  // CoreNLP's λ per parameter class (1e-3 composition, 1e-4 classifier and word vectors).
  AdaGrad<float> opt({ParamGroup<float>(net.parameters_of(ParamClass::Composition)).with_weight_decay(1e-3),
                      ParamGroup<float>(net.parameters_of(ParamClass::Bias)),
                      ParamGroup<float>(net.parameters_of(ParamClass::Classifier)).with_weight_decay(1e-4),
                      ParamGroup<float>(net.parameters_of(ParamClass::WordVectors)).with_weight_decay(1e-4)},
                     AdaGradOptions().with_lr(0.1));
  const auto start = std::chrono::steady_clock::now();
  const double before = node_accuracy(net, examples, LabelMode::Binary);
  int epoch = 0;
  for (; epoch < 200 && node_accuracy(net, examples, LabelMode::Binary) < 1.0; ++epoch) {
    for (std::size_t first = 0; first < examples.size(); first += 5) {  // minibatches of 5 trees
      opt.zero_grad();
      Tape<float> tape;
      std::vector<Var<float>> losses;
      for (std::size_t i = first; i < first + 5; ++i)
        losses.push_back(net.forward(tape, examples[i].tree, examples[i].ids, LabelMode::Binary).loss);
      tape.backward(sum(concat(losses, 0)));
      opt.step();
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("negation: node accuracy " << node_accuracy(net, examples, LabelMode::Binary) << " after " << epoch
                                                  << " epochs, " << seconds << " s");
  BOOST_TEST(before < 1.0);
  BOOST_TEST(node_accuracy(net, examples, LabelMode::Binary) == 1.0);
#if !defined(__SANITIZE_ADDRESS__)
  BOOST_TEST(seconds < 2.0);
#endif
}

// ---- parameters (their per-class L2: tests/test_param_groups.cpp) ------------------------------

BOOST_AUTO_TEST_CASE(parameter_names_shapes_and_classes) {
  struct Expected {
    TreeModel model;
    std::vector<std::string> composition, bias;
  };
  const std::vector<Expected> cases = {{TreeModel::RNN, {"W"}, {"b", "classifier.b"}},
                                       {TreeModel::RNTN, {"W", "V"}, {"b", "classifier.b"}},
                                       {TreeModel::TreeLSTM, {"W", "U"}, {"b", "b_leaf", "classifier.b"}}};
  auto names = [](const ParameterList<float>& ps) {
    std::vector<std::string> out;
    for (auto* p : ps) out.push_back(p->name);
    return out;
  };
  for (const auto& e : cases) {
    BOOST_TEST_CONTEXT(tree_model_name(e.model)) {
      std::mt19937_64 rng(17);
      TreeNet<float> net(10, 4, 5, e.model, rng);
      BOOST_TEST(names(net.parameters_of(ParamClass::Composition)) == e.composition, boost::test_tools::per_element());
      BOOST_TEST(names(net.parameters_of(ParamClass::Bias)) == e.bias, boost::test_tools::per_element());
      BOOST_TEST(names(net.parameters_of(ParamClass::Classifier)) == std::vector<std::string>{"classifier.W"},
                 boost::test_tools::per_element());
      BOOST_TEST(names(net.parameters_of(ParamClass::WordVectors)) == std::vector<std::string>{"embedding.table"},
                 boost::test_tools::per_element());
      BOOST_TEST(net.parameters().size() == e.composition.size() + e.bias.size() + 2);
      const bool lstm = e.model == TreeModel::TreeLSTM;
      BOOST_TEST(to_shape(net.W.value.shape()) == (lstm ? Shape{12, 4} : Shape{4, 8}));
      BOOST_TEST(to_shape(net.b.value.shape()) == (lstm ? Shape{1, 20} : Shape{1, 4}));
      if (net.V) BOOST_TEST(to_shape(net.V->value.shape()) == Shape({4, 8, 8}));
      if (net.U) BOOST_TEST(to_shape(net.U->value.shape()) == Shape({20, 8}));
      BOOST_TEST(to_shape(net.embedding.table.value.shape()) == Shape({10, 4}));
      BOOST_TEST(to_shape(net.classifier.W.value.shape()) == Shape({5, 4}));
    }
  }
}

BOOST_AUTO_TEST_CASE(initialisation_ranges) {
  std::mt19937_64 rng(19);
  const std::size_t d = 10;
  TreeNet<double> net(500, d, 5, TreeModel::RNTN, rng);
  double v_max = 0, w_max = 0, sum_sq = 0;
  for (double v : net.V->value) v_max = std::max(v_max, std::abs(v));
  for (double v : net.W.value) w_max = std::max(w_max, std::abs(v));
  for (double v : net.embedding.table.value) sum_sq += v * v;
  BOOST_TEST(v_max <= 1.0 / (4.0 * d));
  BOOST_TEST(v_max > 0.9 / (4.0 * d));  // the whole range is used
  BOOST_TEST(w_max <= std::sqrt(6.0 / (3.0 * d)));
  BOOST_TEST(w_max > 0.9 * std::sqrt(6.0 / (3.0 * d)));
  BOOST_TEST(std::sqrt(sum_sq / double(net.embedding.table.size())) == 0.1, boost::test_tools::tolerance(0.05));
  for (double v : net.b.value) BOOST_TEST(v == 0.0);
}

// ---- labels, prediction, errors --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(node_targets_per_label_mode) {
  data::Tree tree = data::parse_tree("(4 (2 not) (3 (0 bad) (1 w0)))");
  tree.nodes[1].label = data::kUnknownLabel;  // "bad"
  const std::vector<std::int64_t> fine = {2, -1, 1, 3, 4};
  const std::vector<std::int64_t> binary = {-1, -1, 0, 1, 1};
  BOOST_TEST(node_targets(tree, LabelMode::Fine) == fine, boost::test_tools::per_element());
  BOOST_TEST(node_targets(tree, LabelMode::Binary) == binary, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(binary_loss_skips_neutral_nodes) {
  const data::Vocab vocab = word_vocab();
  std::mt19937_64 rng(29);
  TreeNet<double> net(vocab.size(), 3, 2, TreeModel::RNTN, rng);
  data::Tree tree = data::parse_tree("(3 (2 w0) (1 (2 w1) (4 w2)))");
  const auto ids = leaf_word_ids(tree, vocab);
  auto loss_of = [&](const data::Tree& t) {
    Tape<double> tape;
    return net.forward(tape, t, ids, LabelMode::Binary).loss.item();
  };
  data::Tree unlabelled = tree;
  for (auto& n : unlabelled.nodes)
    if (n.label == 2) n.label = data::kUnknownLabel;
  BOOST_TEST(loss_of(tree) == loss_of(unlabelled));
  data::Tree all_neutral = tree;
  for (auto& n : all_neutral.nodes) n.label = 2;
  BOOST_TEST(loss_of(all_neutral) == 0.0);
  // Fine mode counts the neutral nodes.
  TreeNet<double> fine(vocab.size(), 3, 5, TreeModel::RNTN, rng);
  Tape<double> a, b;
  BOOST_TEST(fine.forward(a, tree, ids, LabelMode::Fine).loss.item() >
             fine.forward(b, unlabelled, ids, LabelMode::Fine).loss.item());
}

BOOST_AUTO_TEST_CASE(predict_is_argmax_without_dropout) {
  const data::Vocab vocab = word_vocab();
  std::mt19937_64 rng(31);
  const data::Tree tree = random_tree(6, rng);
  const auto ids = leaf_word_ids(tree, vocab);
  for (TreeModel model : kModels) {
    BOOST_TEST_CONTEXT(tree_model_name(model)) {
      TreeNet<double> net(vocab.size(), 5, 5, model, rng, TreeNetOptions().with_dropout(0.5));
      randomise(net, 32, 1.0);
      const std::vector<int> predicted = net.predict(tree, ids);  // training mode: predict drops nothing
      net.eval();
      Tape<double> tape;
      const Tensor<double> logits = net.forward(tape, tree, ids, LabelMode::Fine).logits.value();
      const std::vector<int> expected = argmax_rows(logits);
      BOOST_TEST(predicted == expected, boost::test_tools::per_element());
      BOOST_TEST(net.predict_root(tree, ids) == expected.back());
      net.train();
      Tape<double> dropped;
      std::mt19937_64 drop(1);
      BOOST_TEST(!(net.forward(dropped, tree, ids, LabelMode::Fine, &drop).logits.value() == logits));  // dropout acts
    }
  }
  const Tensor<float> logits = {{1, 3, 3}, {-1, -2, -3}, {0, 0, 5}};
  BOOST_TEST(argmax_rows(logits) == std::vector<int>({1, 0, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(leaf_word_ids_use_unk_for_unknown_words) {
  const data::Vocab vocab = word_vocab();
  const data::Tree tree = data::parse_tree("(2 (2 w3) (2 (2 zzz) (2 w0)))");
  const std::vector<std::int64_t> expected = {vocab.index("w3"), data::Vocab::kUnkIndex, vocab.index("w0")};
  BOOST_TEST(expected[0] != 0);
  BOOST_TEST(leaf_word_ids(tree, vocab) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rejects_bad_inputs) {
  std::mt19937_64 rng(37);
  TreeNet<double> net(7, 3, 5, TreeModel::RNN, rng, TreeNetOptions().with_dropout(0.5));
  const data::Tree tree = data::parse_tree("(1 (2 w0) (3 w1))");
  Tape<double> tape;
  std::mt19937_64 drop(1);
  BOOST_CHECK_THROW(net.forward(tape, tree, {1}, LabelMode::Fine, &drop), std::invalid_argument);  // 1 id, 2 leaves
  BOOST_CHECK_THROW(net.forward(tape, tree, {1, 7}, LabelMode::Fine, &drop), std::out_of_range);
  BOOST_CHECK_THROW(net.forward(tape, tree, {1, 2}, LabelMode::Binary, &drop), std::invalid_argument);  // 5 classes
  BOOST_CHECK_THROW(net.forward(tape, tree, {1, 2}, LabelMode::Fine), std::invalid_argument);  // dropout, no rng
  data::Tree parent_first = tree;  // root first: children after their parent
  parent_first.nodes = {tree.nodes[2], tree.nodes[0], tree.nodes[1]};
  parent_first.nodes[0].left = 1;
  parent_first.nodes[0].right = 2;
  BOOST_CHECK_THROW(net.compose(tape, parent_first, {1, 2}), std::invalid_argument);
  data::Tree unary = tree;
  unary.nodes[2].right = -1;
  BOOST_CHECK_THROW(net.compose(tape, unary, {1, 2}), std::invalid_argument);
  BOOST_CHECK_THROW(net.compose(tape, data::Tree{}, {}), std::invalid_argument);
  BOOST_CHECK_NO_THROW(net.forward(tape, tree, {1, 2}, LabelMode::Fine, &drop));
  BOOST_CHECK_THROW(TreeNet<double>(7, 3, 5, TreeModel::RNN, rng, TreeNetOptions().with_dropout(1.0)),
                    std::invalid_argument);
}
