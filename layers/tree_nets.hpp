/// @file
/// Recursive neural networks over binary constituency trees (Socher et al. 2011, 2013; Tai
/// et al. 2015): a composition function builds a d-dimensional vector for every node from
/// its two children, and a softmax classifier labels every node.
///
/// Composition, with x = [a; b] the row vector [1, 2d] of the two children's vectors:
/// @code{.unparsed}
///   RNN       p = tanh(W x + b)                               W [d, 2d], b [1, d]
///   RNTN      p = tanh(xᵀ V^{[1:d]} x + W x + b)              V [d, 2d, 2d]: slice k is V_k
///   TreeLSTM  (binary constituency Tree-LSTM, N = 2, one forget gate per child)
///             z = U [h_L; h_R] + b                            U [5d, 2d], b [1, 5d]
///             gate blocks of z, in order: i, f_L, f_R, o, u
///             i, f_L, f_R, o = σ(z_i, z_fL, z_fR, z_o),  u = tanh(z_u)
///             c = i⊙u + f_L⊙c_L + f_R⊙c_R,  h = o⊙tanh(c)
///   One GEMM per internal node computes all five gate blocks. Tai et al. share b_f
///   between f_L and f_R; here each forget gate has its own block of b.
/// @endcode
///
/// Leaves. The word vector w is a row of the embedding [vocab, d] (data::Vocab indices,
/// `<unk>` = 0). RNN and RNTN leaves are w itself (as in Socher et al.), or tanh(w) with
/// TreeNetOptions::leaf_tanh (Stanford CoreNLP's RNTN, SentimentCostAndGradient: a leaf's
/// node vector is then in (-1, 1) like every composed one). Tree-LSTM leaves
/// read w as their input x and have no children (Tai's constituency version: internal
/// nodes have no input):
/// @code{.unparsed}
///             z = W w + b_leaf                                W [3d, d], b_leaf [1, 3d]
///             gate blocks i, o, u;  c = σ(z_i)⊙tanh(z_u),  h = σ(z_o)⊙tanh(c)
///   computed for all leaves of a tree at once ([L, 3d], one GEMM).
/// @endcode
///
/// Classifier and loss. Every node's vector (h for the Tree-LSTM) goes through one Linear
/// d -> C: logits [n_nodes, C], row i = tree.nodes[i]. The loss of a tree is the SUM of the
/// cross-entropies of its labelled nodes; nodes without a label, and neutral nodes under
/// LabelMode::Binary, are skipped (node_targets gives them the target kIgnoreTarget).
/// Optional dropout (TreeNetOptions::dropout) acts on the node vectors in front of the
/// classifier, in training mode only (Tai et al. 2015 drop there).
///
/// The tree is walked as a plain loop over tree.nodes, which data::Tree keeps in post-order
/// (children before parents, root last), so nothing recurses and a 1000-deep degenerate
/// tree costs nothing on the call stack. Per internal node: RNN 4 ops, RNTN 6, TreeLSTM 19
/// (leaf_tanh adds one tanh over all leaves).
///
/// Initialisation (the generator is consumed in this order):
/// @code{.unparsed}
///   RNN, RNTN   W Glorot-uniform [d, 2d]; b = 0; V ~ U(±1/(4d)) (CoreNLP's tensor range).
///   TreeLSTM    W Glorot-uniform over [3d, d], U Glorot-uniform over [5d, 2d] (the whole
///               fused matrix, as layers/cells.hpp does for W_ih); b_leaf = b = 0.
///   embedding   N(0, 0.1²) (TreeNetOptions::word_init_std).
///   classifier  Linear's default: W Glorot-uniform, b = 0.
/// @endcode
/// CoreNLP also adds identity blocks [I I] to W; plain Glorot is kept here for simplicity.
///
/// Structure: each composition function is a TreeComposer (RNNComposer, RNTNComposer,
/// TreeLSTMComposer) owning its parameters; TreeNet holds the embedding, the classifier and
/// the composer TreeModel chooses.
///
/// Parameter names, in parameters() order: the composer's "W", "b", then "V" (RNTN) or "U"
/// and "b_leaf" (TreeLSTM); "embedding.table", "classifier.W", "classifier.b".
/// parameters_of(ParamClass) groups them (per-class L2).
///
/// A forward never mutates the net: one TreeNet can serve many tapes on many threads
/// (parallel_batch). Instantiated for float and double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.hpp"
#include "data/tree.hpp"
#include "data/vocab.hpp"
#include "layers/basic.hpp"
#include "layers/module.hpp"

namespace tapenet {

enum class TreeModel { RNN, RNTN, TreeLSTM };

const char* tree_model_name(TreeModel model);  ///< "RNN", "RNTN", "TreeLSTM"

/// The Tree-LSTM's leaf cell for a word vector w.
enum class LeafCell {
  Gated,   ///< z = W w + b (blocks i, o, u): c = σ(z_i)⊙tanh(z_u), h = σ(z_o)⊙tanh(c)
  Linear,  ///< Tai et al.'s code: z = W w + b (blocks c, o): c = z_c, h = σ(z_o)⊙tanh(c)
};

struct TreeNetOptions {
  double dropout = 0;          ///< p on the node vectors before the classifier (training only)
  double input_dropout = 0;    ///< p on the elements of the word vectors (training only)
  /// TreeLSTM: p on the candidate u of every cell (the leaf's c with LeafCell::Linear),
  /// training only: recurrent dropout without memory loss (Semeniuta et al. 2016).
  double cell_dropout = 0;
  /// RNN, RNTN: p on the children [a; b] at every composition, training only.
  double composition_dropout = 0;
  double word_init_std = 0.1;  ///< word vectors ~ N(0, std²)
  bool leaf_tanh = false;      ///< RNN, RNTN: a leaf's vector is tanh(w), as in CoreNLP
  LeafCell leaf_cell = LeafCell::Gated;  ///< TreeLSTM only
  /// TreeLSTM: the word vectors' size when it differs from the node size d (0: d). Its
  /// leaf cell maps a word vector to the node size, so a smaller table can feed a wide net.
  std::size_t word_dim = 0;
  /// The root's term of the loss is multiplied by this weight (1: the plain sum over nodes
  /// of Socher et al.). Root accuracy is what SST reports, while ~95 % of the labelled
  /// nodes are short phrases; a weight > 1 leans the shared classifier toward sentences.
  double root_weight = 1;

  TreeNetOptions& with_dropout(double p) { dropout = p; return *this; }
  TreeNetOptions& with_input_dropout(double p) { input_dropout = p; return *this; }
  TreeNetOptions& with_cell_dropout(double p) { cell_dropout = p; return *this; }
  TreeNetOptions& with_composition_dropout(double p) { composition_dropout = p; return *this; }
  TreeNetOptions& with_word_init_std(double s) { word_init_std = s; return *this; }
  TreeNetOptions& with_leaf_tanh(bool on = true) { leaf_tanh = on; return *this; }
  TreeNetOptions& with_leaf_cell(LeafCell cell) { leaf_cell = cell; return *this; }
  TreeNetOptions& with_word_dim(std::size_t e) { word_dim = e; return *this; }
  TreeNetOptions& with_root_weight(double w) { root_weight = w; return *this; }
};

/// The target of a node that adds nothing to the loss.
constexpr std::int64_t kIgnoreTarget = -1;

/// Per-node targets in node order: the node's label under `mode` (data::mode_label), or
/// kIgnoreTarget for unlabelled nodes (data::kUnknownLabel) and, in Binary mode, neutral ones.
std::vector<std::int64_t> node_targets(const data::Tree& tree, data::LabelMode mode);

/// The vocabulary index of every leaf word, left to right (unknown words -> `<unk>` = 0).
std::vector<std::int64_t> leaf_word_ids(const data::Tree& tree, const data::Vocab& vocab);

/// Index of the largest entry of each row of a [N, C] tensor (the first one on ties).
template <class T>
std::vector<int> argmax_rows(const Tensor<T>& logits);

template <class T>
struct TreeOutput {
  Var<T> vectors;  ///< [n_nodes, d]: node i's vector (h for the Tree-LSTM) in row i
  Var<T> logits;   ///< [n_nodes, C]
  Var<T> loss;     ///< [1]: Σ over labelled nodes of the cross-entropy
  std::vector<std::int64_t> targets;  ///< per node; kIgnoreTarget where nothing is counted
};

/// Parameter classes, e.g. for per-class L2 (optim/optimizer.hpp's ParamGroup): CoreNLP's
/// RNTN regularises the composition matrices and tensor, the classifier matrix and the word
/// vectors with separate λ, and leaves every bias unregularised.
enum class ParamClass {
  Composition,  ///< W, V, U
  Bias,         ///< b, b_leaf, classifier.b
  Classifier,   ///< classifier.W
  WordVectors,  ///< embedding.table
};

/// One composition function with its own parameters: the vector of every node of a tree
/// from its leaves' word vectors. TreeNet holds one, chosen by TreeModel.
template <class T>
class TreeComposer : public Module<T> {
 public:
  /// words [L, e]: one row per leaf, left to right. Returns node i's vector [1, d] at index
  /// i (h for the Tree-LSTM). rng == nullptr: no dropout.
  virtual std::vector<Var<T>> compose_nodes(Tape<T>& tape, const data::Tree& tree, Var<T> words,
                                            std::mt19937_64* rng) const = 0;
  /// Whether p is one of this composer's biases (ParamClass::Bias; the rest is Composition).
  virtual bool is_bias(const Parameter<T>& p) const = 0;
};

/// RNN: p = tanh(W x + b), parameters "W" [d, 2d] (Glorot-uniform), "b" [1, d] (0).
template <class T>
class RNNComposer : public TreeComposer<T> {
 public:
  RNNComposer(std::size_t dim, const TreeNetOptions& options, std::mt19937_64& rng);
  std::vector<Var<T>> compose_nodes(Tape<T>& tape, const data::Tree& tree, Var<T> words,
                                    std::mt19937_64* rng) const override;
  bool is_bias(const Parameter<T>& p) const override { return &p == &b; }

  Parameter<T>& W;
  Parameter<T>& b;

 protected:
  /// The pre-activation without b: W x for the RNN.
  virtual Var<T> pre_activation(Tape<T>& tape, Var<T> x) const;

 private:
  Var<T> compose_pair(Tape<T>& tape, Var<T> left, Var<T> right, std::mt19937_64* rng) const;

  TreeNetOptions options_;
};

/// RNTN: the RNN's parameters, then "V" [d, 2d, 2d] ~ U(±1/(4d)) for xᵀ V^{[1:d]} x.
template <class T>
class RNTNComposer : public RNNComposer<T> {
 public:
  RNTNComposer(std::size_t dim, const TreeNetOptions& options, std::mt19937_64& rng);

  Parameter<T>& V;

 protected:
  Var<T> pre_activation(Tape<T>& tape, Var<T> x) const override;  ///< xᵀ V^{[1:d]} x + W x
};

/// Binary constituency Tree-LSTM. Parameters, in this order: "W" the leaf input weights
/// [blocks·d, e] (Glorot-uniform), "b" the internal-node gate biases [1, 5d] (0), "U" the
/// internal-node weights [5d, 2d] (Glorot-uniform), "b_leaf" the leaf biases [1, blocks·d]
/// (0); blocks = 3 (LeafCell::Gated) or 2 (LeafCell::Linear).
template <class T>
class TreeLSTMComposer : public TreeComposer<T> {
 public:
  TreeLSTMComposer(std::size_t dim, std::size_t word_dim, const TreeNetOptions& options, std::mt19937_64& rng);
  std::vector<Var<T>> compose_nodes(Tape<T>& tape, const data::Tree& tree, Var<T> words,
                                    std::mt19937_64* rng) const override;
  bool is_bias(const Parameter<T>& p) const override { return &p == &b || &p == &b_leaf; }

  Parameter<T>& W;
  Parameter<T>& b;
  Parameter<T>& U;
  Parameter<T>& b_leaf;

 private:
  struct Cell {
    Var<T> h, c;
  };
  Cell leaves(Tape<T>& tape, Var<T> words, std::mt19937_64* rng) const;
  Cell node(Tape<T>& tape, const Cell& left, const Cell& right, std::mt19937_64* rng) const;

  std::size_t dim_;
  TreeNetOptions options_;
};

template <class T>
class TreeNet : public Module<T> {
 public:
  TreeNet(std::size_t vocab, std::size_t dim, std::size_t classes, TreeModel model, std::mt19937_64& rng,
          const TreeNetOptions& options = {});

  /// Records the whole tree on `tape`. word_ids holds one vocabulary index per leaf, left to
  /// right (leaf_word_ids). classes() must equal data::num_classes(mode). `rng` draws the
  /// dropout masks (word vectors, cells, then classifier input) and is required when
  /// training() and one of the options' dropout rates is > 0.
  /// Throws std::invalid_argument for a malformed tree (not post-order, unary nodes, root
  /// not last), a wrong number of word ids or a class count that does not fit the mode;
  /// std::out_of_range for a word id outside the vocabulary.
  TreeOutput<T> forward(Tape<T>& tape, const data::Tree& tree, const std::vector<std::int64_t>& word_ids,
                        data::LabelMode mode, std::mt19937_64* rng = nullptr) const;

  /// The node vectors alone, [n_nodes, d] (no classifier, no dropout).
  Var<T> compose(Tape<T>& tape, const data::Tree& tree, const std::vector<std::int64_t>& word_ids) const;

  /// The predicted class of every node (argmax of the logits; no dropout, no gradients).
  std::vector<int> predict(const data::Tree& tree, const std::vector<std::int64_t>& word_ids) const;
  int predict_root(const data::Tree& tree, const std::vector<std::int64_t>& word_ids) const;

  ParamClass parameter_class(const Parameter<T>& p) const;
  /// The parameters of one class, in parameters() order.
  ParameterList<T> parameters_of(ParamClass c);

  TreeModel model() const { return model_; }
  std::size_t dim() const { return dim_; }
  std::size_t classes() const { return classifier.out_features(); }
  const TreeNetOptions& options() const { return options_; }

  Embedding<T> embedding;
  Linear<T> classifier;

 private:
  // Built after embedding and classifier (the generator's order); its parameters come
  // first in parameters() under their own flat names ("W", not "composer.W").
  std::unique_ptr<TreeComposer<T>> composer_;

 public:
  const TreeComposer<T>& composer() const { return *composer_; }
  /// The composer's parameters by their checkpoint names; which ones exist and what they
  /// mean depends on the model (see RNNComposer, RNTNComposer, TreeLSTMComposer).
  Parameter<T>& W;  ///< RNN, RNTN: [d, 2d]; TreeLSTM: leaf input weights [3d, e] (Linear leaf: [2d, e]), e the word size
  Parameter<T>& b;  ///< RNN, RNTN: [1, d]; TreeLSTM: internal-node gate biases [1, 5d]
  Parameter<T>* V = nullptr;       ///< RNTN: [d, 2d, 2d]
  Parameter<T>* U = nullptr;       ///< TreeLSTM: [5d, 2d]
  Parameter<T>* b_leaf = nullptr;  ///< TreeLSTM: [1, 3d] (Linear leaf: [1, 2d])

 private:
  // rng == nullptr: no dropout anywhere (compose, predict).
  Var<T> compose_nodes(Tape<T>& tape, const data::Tree& tree, const std::vector<std::int64_t>& word_ids,
                       std::mt19937_64* rng) const;
  // dropout(x, p) in training mode when p > 0 and rng is given, else x.
  Var<T> train_dropout(Var<T> x, double p, std::mt19937_64* rng) const;
  // The composer's parameter called `name`, or nullptr.
  Parameter<T>* composer_parameter(const std::string& name) const;

  TreeModel model_;
  std::size_t dim_;
  TreeNetOptions options_;
};

}  // namespace tapenet
