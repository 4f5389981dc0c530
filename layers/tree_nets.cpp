#include "layers/tree_nets.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "layers/init.hpp"

namespace tapenet {

namespace {

std::string node_str(std::size_t i) { return "node " + std::to_string(i); }

// The invariants the bottom-up loop relies on: every internal node has two children that
// come before it, the root is the last node, and there is one word id per leaf.
void check_tree(const data::Tree& tree, std::size_t word_ids) {
  const std::size_t n = tree.size();
  if (n == 0) throw std::invalid_argument("TreeNet: empty tree");
  if (tree.root != static_cast<int>(n) - 1)
    throw std::invalid_argument("TreeNet: the root must be the last node (post-order), got root " +
                                std::to_string(tree.root) + " of " + std::to_string(n) + " nodes");
  std::size_t leaves = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const data::Node& node = tree.nodes[i];
    if (node.is_leaf()) {
      if (node.right >= 0) throw std::invalid_argument("TreeNet: " + node_str(i) + " has only a right child");
      ++leaves;
      continue;
    }
    const bool ok = node.right >= 0 && node.left < static_cast<int>(i) && node.right < static_cast<int>(i);
    if (!ok)
      throw std::invalid_argument("TreeNet: " + node_str(i) + " needs two children before it (post-order), got " +
                                  std::to_string(node.left) + " and " + std::to_string(node.right));
  }
  if (leaves != word_ids)
    throw std::invalid_argument("TreeNet: " + std::to_string(word_ids) + " word ids for a tree of " +
                                std::to_string(leaves) + " leaves");
}

// Row r of a [N, k] Var as [1, k].
template <class T>
Var<T> row(Var<T> x, std::size_t r) {
  return slice(x, 0, r, r + 1);
}

// Block k (of width d) of a [N, K·d] Var.
template <class T>
Var<T> block(Var<T> x, std::size_t k, std::size_t d) {
  return slice(x, 1, k * d, (k + 1) * d);
}

// dropout(x, p) when `training`, p > 0 and rng is given, else x.
template <class T>
Var<T> dropout_if(bool training, Var<T> x, double p, std::mt19937_64* rng) {
  if (!training || p == 0 || !rng) return x;
  return dropout(x, static_cast<T>(p), true, *rng);
}

}  // namespace

const char* tree_model_name(TreeModel model) {
  switch (model) {
    case TreeModel::RNN: return "RNN";
    case TreeModel::RNTN: return "RNTN";
    case TreeModel::TreeLSTM: return "TreeLSTM";
  }
  return "?";
}

std::vector<std::int64_t> node_targets(const data::Tree& tree, data::LabelMode mode) {
  std::vector<std::int64_t> targets;
  targets.reserve(tree.size());
  for (const data::Node& node : tree.nodes) {
    const int label = node.label == data::kUnknownLabel ? data::kDroppedLabel : data::mode_label(node.label, mode);
    targets.push_back(label == data::kDroppedLabel ? kIgnoreTarget : label);
  }
  return targets;
}

std::vector<std::int64_t> leaf_word_ids(const data::Tree& tree, const data::Vocab& vocab) {
  std::vector<std::int64_t> ids;
  for (const data::Node& node : tree.nodes)
    if (node.is_leaf()) ids.push_back(vocab.index(node.word));
  return ids;
}

template <class T>
std::vector<int> argmax_rows(const Tensor<T>& logits) {
  if (logits.dimension() != 2) throw ShapeError("argmax_rows", "needs [N,C], got " + shape_str(logits.shape()));
  const std::size_t N = logits.shape()[0], C = logits.shape()[1];
  std::vector<int> out(N, 0);
  for (std::size_t r = 0; r < N; ++r) {
    const T* x = logits.data() + r * C;
    for (std::size_t c = 1; c < C; ++c)
      if (x[c] > x[out[r]]) out[r] = static_cast<int>(c);
  }
  return out;
}

// ---- construction -----------------------------------------------------------------------------

namespace {

// The Tree-LSTM's leaf blocks: i, o, u (Gated) or c, o (Linear).
std::size_t leaf_blocks(LeafCell cell) { return cell == LeafCell::Gated ? 3 : 2; }

// The word vectors' size: options.word_dim, or d when it is 0.
std::size_t word_size(std::size_t d, const TreeNetOptions& options) { return options.word_dim ? options.word_dim : d; }

// Throws std::invalid_argument for sizes of 0, dropout rates outside [0, 1) and options
// the model does not have.
void check_options(TreeModel model, std::size_t vocab, std::size_t dim, std::size_t classes,
                   const TreeNetOptions& options) {
  if (dim == 0 || classes == 0 || vocab == 0) throw std::invalid_argument("TreeNet: vocab, dim and classes must be positive");
  for (double p : {options.dropout, options.input_dropout, options.cell_dropout, options.composition_dropout})
    if (!(p >= 0 && p < 1)) throw std::invalid_argument("TreeNet: dropout rates must be in [0, 1)");
  if (!(options.root_weight > 0 && std::isfinite(options.root_weight)))
    throw std::invalid_argument("TreeNet: root_weight must be positive and finite");
  if (options.cell_dropout > 0 && model != TreeModel::TreeLSTM)
    throw std::invalid_argument("TreeNet: cell_dropout is for the TreeLSTM");
  if (options.composition_dropout > 0 && model == TreeModel::TreeLSTM)
    throw std::invalid_argument("TreeNet: composition_dropout is for RNN and RNTN");
  if (options.leaf_tanh && model == TreeModel::TreeLSTM)  // its leaves already squash w through gates
    throw std::invalid_argument("TreeNet: leaf_tanh is for RNN and RNTN leaves; the Tree-LSTM has a leaf cell");
  if (word_size(dim, options) != dim && model != TreeModel::TreeLSTM)
    throw std::invalid_argument("TreeNet: word_dim " + std::to_string(options.word_dim) + " differs from dim " +
                                std::to_string(dim) + ": only the TreeLSTM maps word vectors to nodes");
  if (options.leaf_cell != LeafCell::Gated && model != TreeModel::TreeLSTM)
    throw std::invalid_argument("TreeNet: leaf_cell is for the TreeLSTM; RNN and RNTN leaves are word vectors");
}

// Checks the options first, so the generator is only consumed for a net that can be built.
template <class T>
std::unique_ptr<TreeComposer<T>> make_composer(TreeModel model, std::size_t vocab, std::size_t dim,
                                               std::size_t classes, const TreeNetOptions& options,
                                               std::mt19937_64& rng) {
  check_options(model, vocab, dim, classes, options);
  switch (model) {
    case TreeModel::RNN: return std::make_unique<RNNComposer<T>>(dim, options, rng);
    case TreeModel::RNTN: return std::make_unique<RNTNComposer<T>>(dim, options, rng);
    case TreeModel::TreeLSTM: return std::make_unique<TreeLSTMComposer<T>>(dim, word_size(dim, options), options, rng);
  }
  throw std::invalid_argument("TreeNet: unknown TreeModel");
}

// The composer's own add_module prefix is dropped: checkpoints name its parameters "W", "b", ...
template <class T>
void drop_prefix(ParameterList<T> params, const std::string& prefix) {
  for (auto* p : params)
    if (p->name.compare(0, prefix.size(), prefix) == 0) p->name.erase(0, prefix.size());
}

}  // namespace

template <class T>
RNNComposer<T>::RNNComposer(std::size_t dim, const TreeNetOptions& options, std::mt19937_64& rng)
    : W(this->add_parameter("W", init::glorot_uniform<T>({dim, 2 * dim}, rng))),
      b(this->add_parameter("b", zeros<T>({1, dim}))),
      options_(options) {}

template <class T>
RNTNComposer<T>::RNTNComposer(std::size_t dim, const TreeNetOptions& options, std::mt19937_64& rng)
    : RNNComposer<T>(dim, options, rng),
      V(this->add_parameter("V", init::uniform<T>({dim, 2 * dim, 2 * dim}, 1.0 / (4.0 * double(dim)), rng))) {}

template <class T>
TreeLSTMComposer<T>::TreeLSTMComposer(std::size_t dim, std::size_t word_dim, const TreeNetOptions& options,
                                      std::mt19937_64& rng)
    : W(this->add_parameter("W", init::glorot_uniform<T>({leaf_blocks(options.leaf_cell) * dim, word_dim}, rng))),
      b(this->add_parameter("b", zeros<T>({1, 5 * dim}))),
      U(this->add_parameter("U", init::glorot_uniform<T>({5 * dim, 2 * dim}, rng))),
      b_leaf(this->add_parameter("b_leaf", zeros<T>({1, leaf_blocks(options.leaf_cell) * dim}))),
      dim_(dim),
      options_(options) {}

template <class T>
TreeNet<T>::TreeNet(std::size_t vocab, std::size_t dim, std::size_t classes, TreeModel model, std::mt19937_64& rng,
                    const TreeNetOptions& options)
    : embedding(vocab, word_size(dim, options), rng, options.word_init_std),
      classifier(dim, classes, rng),
      composer_(make_composer<T>(model, vocab, dim, classes, options, rng)),
      W(*composer_parameter("W")),
      b(*composer_parameter("b")),
      V(composer_parameter("V")),
      U(composer_parameter("U")),
      b_leaf(composer_parameter("b_leaf")),
      model_(model),
      dim_(dim),
      options_(options) {
  this->add_module("composer", *composer_);
  drop_prefix(composer_->parameters(), "composer.");
  this->add_module("embedding", embedding);
  this->add_module("classifier", classifier);
}

template <class T>
Parameter<T>* TreeNet<T>::composer_parameter(const std::string& name) const {
  for (auto* p : composer_->parameters())
    if (p->name == name) return p;
  return nullptr;
}

// ---- forward ------------------------------------------------------------------------------------

template <class T>
TreeOutput<T> TreeNet<T>::forward(Tape<T>& tape, const data::Tree& tree, const std::vector<std::int64_t>& word_ids,
                                  data::LabelMode mode, std::mt19937_64* rng) const {
  if (classes() != static_cast<std::size_t>(data::num_classes(mode)))
    throw std::invalid_argument("TreeNet: " + std::to_string(classes()) + " classes cannot be trained in a " +
                                std::to_string(data::num_classes(mode)) + "-class label mode");
  const bool any_dropout = options_.dropout > 0 || options_.input_dropout > 0 || options_.cell_dropout > 0 ||
                           options_.composition_dropout > 0;
  if (this->training() && any_dropout && !rng)
    throw std::invalid_argument("TreeNet: dropout in training mode needs a generator");
  TreeOutput<T> out;
  out.vectors = compose_nodes(tape, tree, word_ids, rng);
  out.logits = classifier.forward(tape, train_dropout(out.vectors, options_.dropout, rng));
  out.targets = node_targets(tree, mode);
  // loss = Σ_{labelled nodes i} ω_i·(-log softmax(logits_i)[target_i]), ω = root_weight at the root, else 1
  ClassLossOptions<T> loss_options;
  loss_options.ignore_index = kIgnoreTarget;
  loss_options.reduction = Reduction::Sum;
  Tensor<T> node_weights;
  if (options_.root_weight != 1) {
    node_weights = full<T>({tree.nodes.size()}, T(1));
    node_weights.data()[tree.root] = static_cast<T>(options_.root_weight);
    loss_options.weights = &node_weights;
  }
  out.loss = cross_entropy(out.logits, out.targets, loss_options);
  return out;
}

template <class T>
Var<T> TreeNet<T>::train_dropout(Var<T> x, double p, std::mt19937_64* rng) const {
  return dropout_if(this->training(), x, p, rng);
}

template <class T>
Var<T> TreeNet<T>::compose(Tape<T>& tape, const data::Tree& tree, const std::vector<std::int64_t>& word_ids) const {
  return compose_nodes(tape, tree, word_ids, nullptr);
}

template <class T>
Var<T> TreeNet<T>::compose_nodes(Tape<T>& tape, const data::Tree& tree, const std::vector<std::int64_t>& word_ids,
                                 std::mt19937_64* rng) const {
  check_tree(tree, word_ids.size());
  Var<T> words = embedding.forward(tape, word_ids);  // [L, e], one row per leaf (e = d but for a TreeLSTM with word_dim)
  words = train_dropout(words, options_.input_dropout, rng);
  return concat(composer_->compose_nodes(tape, tree, words, rng), 0);
}

// ---- RNN and RNTN composition ---------------------------------------------------------------------

// Bottom-up over the post-order nodes: a leaf is its word vector w (or tanh(w), one op
// for all leaves), a parent composes its two (already computed) children.
template <class T>
std::vector<Var<T>> RNNComposer<T>::compose_nodes(Tape<T>& tape, const data::Tree& tree, Var<T> words,
                                                  std::mt19937_64* rng) const {
  if (options_.leaf_tanh) words = tanh(words);
  std::vector<Var<T>> p(tree.size());
  std::size_t leaf = 0;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    const data::Node& node = tree.nodes[i];
    p[i] = node.is_leaf() ? row(words, leaf++) : compose_pair(tape, p[node.left], p[node.right], rng);
  }
  return p;
}

// x = [a; b]  (a = left, b = right),  p = tanh(pre_activation(x) + b)
template <class T>
Var<T> RNNComposer<T>::compose_pair(Tape<T>& tape, Var<T> left, Var<T> right, std::mt19937_64* rng) const {
  Var<T> x = dropout_if(this->training(), concat<T>({left, right}, 1), options_.composition_dropout, rng);
  return tanh(pre_activation(tape, x) + tape.param(b));
}

template <class T>
Var<T> RNNComposer<T>::pre_activation(Tape<T>& tape, Var<T> x) const {
  return matmul(x, tape.param(W), false, true);
}

template <class T>
Var<T> RNTNComposer<T>::pre_activation(Tape<T>& tape, Var<T> x) const {
  Var<T> linear = RNNComposer<T>::pre_activation(tape, x);  // recorded before the tensor term
  return bilinear(x, tape.param(V), x) + linear;
}

// ---- Tree-LSTM composition ------------------------------------------------------------------------

template <class T>
std::vector<Var<T>> TreeLSTMComposer<T>::compose_nodes(Tape<T>& tape, const data::Tree& tree, Var<T> words,
                                                       std::mt19937_64* rng) const {
  const Cell leaf_cells = leaves(tape, words, rng);
  std::vector<Cell> cells(tree.size());
  std::vector<Var<T>> h(tree.size());
  std::size_t leaf = 0;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    const data::Node& n = tree.nodes[i];
    if (n.is_leaf()) {
      cells[i] = {row(leaf_cells.h, leaf), row(leaf_cells.c, leaf)};
      ++leaf;
    } else {
      cells[i] = node(tape, cells[n.left], cells[n.right], rng);
    }
    h[i] = cells[i].h;
  }
  return h;
}

// All leaves at once, words [L, e]:
//   Gated:  z = W w + b_leaf (blocks i, o, u),  c = σ(z_i)⊙tanh(z_u),  h = σ(z_o)⊙tanh(c)
//   Linear: z = W w + b_leaf (blocks c, o),     c = z_c,               h = σ(z_o)⊙tanh(c)
template <class T>
typename TreeLSTMComposer<T>::Cell TreeLSTMComposer<T>::leaves(Tape<T>& tape, Var<T> words,
                                                              std::mt19937_64* rng) const {
  const std::size_t d = dim_;
  Var<T> z = matmul(words, tape.param(W), false, true) + tape.param(b_leaf);
  if (options_.leaf_cell == LeafCell::Linear) {
    Var<T> c = dropout_if(this->training(), block(z, 0, d), options_.cell_dropout, rng);
    return {sigmoid(block(z, 1, d)) * tanh(c), c};
  }
  Var<T> io = sigmoid(slice(z, 1, 0, 2 * d));
  Var<T> u = dropout_if(this->training(), tanh(block(z, 2, d)), options_.cell_dropout, rng);
  Var<T> c = block(io, 0, d) * u;
  return {block(io, 1, d) * tanh(c), c};
}

// z = U [h_L; h_R] + b  (blocks i, f_L, f_R, o, u)
// i, f_L, f_R, o = σ(·),  u = tanh(z_u)
// c = i⊙u + f_L⊙c_L + f_R⊙c_R,  h = o⊙tanh(c)
template <class T>
typename TreeLSTMComposer<T>::Cell TreeLSTMComposer<T>::node(Tape<T>& tape, const Cell& left, const Cell& right,
                                                            std::mt19937_64* rng) const {
  const std::size_t d = dim_;
  Var<T> z = matmul(concat<T>({left.h, right.h}, 1), tape.param(U), false, true) + tape.param(b);
  Var<T> gates = sigmoid(slice(z, 1, 0, 4 * d));
  Var<T> u = dropout_if(this->training(), tanh(block(z, 4, d)), options_.cell_dropout, rng);
  Var<T> c = block(gates, 0, d) * u + block(gates, 1, d) * left.c + block(gates, 2, d) * right.c;
  return {block(gates, 3, d) * tanh(c), c};
}

// ---- prediction ---------------------------------------------------------------------------------

template <class T>
std::vector<int> TreeNet<T>::predict(const data::Tree& tree, const std::vector<std::int64_t>& word_ids) const {
  NoGradGuard no_grad;
  Tape<T> tape;
  return argmax_rows(classifier.forward(tape, compose(tape, tree, word_ids)).value());
}

template <class T>
int TreeNet<T>::predict_root(const data::Tree& tree, const std::vector<std::int64_t>& word_ids) const {
  return predict(tree, word_ids).at(static_cast<std::size_t>(tree.root));
}

// ---- parameter classes ---------------------------------------------------------------------------

template <class T>
ParamClass TreeNet<T>::parameter_class(const Parameter<T>& p) const {
  if (&p == &embedding.table) return ParamClass::WordVectors;
  if (&p == &classifier.W) return ParamClass::Classifier;
  if (&p == classifier.b || composer_->is_bias(p)) return ParamClass::Bias;
  return ParamClass::Composition;
}

template <class T>
ParameterList<T> TreeNet<T>::parameters_of(ParamClass c) {
  ParameterList<T> out;
  for (auto* p : this->parameters())
    if (parameter_class(*p) == c) out.push_back(p);
  return out;
}

#define TAPENET_INSTANTIATE_TREE_NETS(T)                              \
  template std::vector<int> argmax_rows(const Tensor<T>&);           \
  template class RNNComposer<T>;                                      \
  template class RNTNComposer<T>;                                     \
  template class TreeLSTMComposer<T>;                                 \
  template class TreeNet<T>;
TAPENET_INSTANTIATE_TREE_NETS(float)
TAPENET_INSTANTIATE_TREE_NETS(double)

}  // namespace tapenet
