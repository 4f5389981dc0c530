/// @file
/// Child-Sum Tree-LSTM (Tai, Socher and Manning 2015, section 3.1): an LSTM over a tree of any
/// arity whose children are unordered — the dependency Tree-LSTM. Node j with input x_j
/// (row j of the inputs) and children C(j):
///
/// @code{.unparsed}
///   h̃_j  = Σ_{k∈C(j)} h_k
///   i_j  = σ(W_i x_j + U_i h̃_j + b_i)
///   f_jk = σ(W_f x_j + U_f h_k + b_f)         one forget gate per child k
///   o_j  = σ(W_o x_j + U_o h̃_j + b_o)
///   u_j  = tanh(W_u x_j + U_u h̃_j + b_u)
///   c_j  = i_j⊙u_j + Σ_{k∈C(j)} f_jk⊙c_k
///   h_j  = o_j⊙tanh(c_j)
/// @endcode
///
/// A leaf has h̃ = 0 and no forget gate: c = i⊙u.
///
/// Batched by level: a node's level is 0 for a leaf, else 1 + its highest child's level, so
/// the nodes of one level depend only on lower levels and are computed together. Fused GEMMs:
/// one input projection for every node and every gate, xp = x Wᵀ + b ([N, 4d], blocks i, o,
/// u, f); per level one GEMM H̃ U_iouᵀ for the three gates that read h̃ (one row per node of
/// the level) and one GEMM H_C U_fᵀ for the forget gates of all the level's children (one row
/// per child). The sums over children are one segment-sum op each. A level costs a fixed
/// number of ops plus two gathers per lower level its children are on, so a tree of height D
/// records O(D) ops when its levels read from few levels (O(N) at worst) where a per-node
/// cell records O(N).
///
/// The levels are a plain loop: a 10 000-node chain (10 000 levels) costs nothing on the call
/// stack, and the tape's backward is a loop too. The tree may be a forest, so a minibatch of
/// trees can run as one forest (data::join_trees, inputs stacked in the same order) and share
/// every level's GEMMs.
///
/// Parameters, in parameters() order:
/// @code{.unparsed}
///   "W"     [4d, e]  input weights, blocks W_i, W_o, W_u, W_f  (Glorot-uniform over [4d, e])
///   "b"     [1, 4d]  biases b_i, b_o, b_u, b_f                 (0)
///   "U_iou" [3d, d]  U_i, U_o, U_u                             (Glorot-uniform over [3d, d])
///   "U_f"   [d, d]                                             (Glorot-uniform)
/// @endcode
/// The generator is consumed in that order.
///
/// Dropout (ChildSumTreeLSTMOptions::cell_dropout): p on the candidate u of every node,
/// training mode only (recurrent dropout without memory loss, Semeniuta et al. 2016). The
/// masks are drawn level by level from the leaves up, one [nodes of the level, d] mask each,
/// rows in the order the nodes appear in tree.order. The forward convention of
/// layers/basic.hpp: a null generator draws nothing; training mode with p > 0 and no
/// generator throws. A forward never mutates the module (one module, many tapes,
/// many threads). Instantiated for float and double.
#pragma once

#include <cstddef>
#include <random>

#include "autograd/ops.hpp"
#include "data/tree_structure.hpp"
#include "layers/module.hpp"

namespace tapenet {

struct ChildSumTreeLSTMOptions {
  double cell_dropout = 0;  ///< p on u, training only

  ChildSumTreeLSTMOptions& with_cell_dropout(double p) { cell_dropout = p; return *this; }
};

template <class T>
struct ChildSumTreeLSTMOutput {
  Var<T> h;     ///< [N, d]: row j is node j's h
  Var<T> c;     ///< [N, d]: row j is node j's memory cell
  Var<T> root;  ///< [1, d]: h of tree.root(), the last node of tree.order
};

template <class T>
class ChildSumTreeLSTM : public Module<T> {
 public:
  ChildSumTreeLSTM(std::size_t input_size, std::size_t hidden_size, std::mt19937_64& rng,
                   const ChildSumTreeLSTMOptions& options = {});

  /// inputs [N, e]: row j is x_j for node j of `tree` (N = tree.size()). Throws
  /// std::invalid_argument for a malformed structure (data::check_structure, forests allowed)
  /// and ShapeError for inputs of the wrong shape.
  ChildSumTreeLSTMOutput<T> forward(Tape<T>& tape, const data::TreeStructure& tree, Var<T> inputs,
                                    std::mt19937_64* rng = nullptr) const;

  std::size_t input_size() const { return W.value.shape()[1]; }
  std::size_t hidden_size() const { return U_f.value.shape()[0]; }
  const ChildSumTreeLSTMOptions& options() const { return options_; }

  Parameter<T>& W;
  Parameter<T>& b;
  Parameter<T>& U_iou;
  Parameter<T>& U_f;

 private:
  ChildSumTreeLSTMOptions options_;
};

}  // namespace tapenet
