#include "layers/child_sum_tree_lstm.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "layers/basic.hpp"
#include "layers/init.hpp"

namespace tapenet {

template <class T>
ChildSumTreeLSTM<T>::ChildSumTreeLSTM(std::size_t input_size, std::size_t hidden_size, std::mt19937_64& rng,
                                      const ChildSumTreeLSTMOptions& options)
    : W(this->add_parameter("W", init::glorot_uniform<T>({4 * hidden_size, input_size}, rng))),
      b(this->add_parameter("b", zeros<T>({1, 4 * hidden_size}))),
      U_iou(this->add_parameter("U_iou", init::glorot_uniform<T>({3 * hidden_size, hidden_size}, rng))),
      U_f(this->add_parameter("U_f", init::glorot_uniform<T>({hidden_size, hidden_size}, rng))),
      options_(options) {
  if (input_size == 0 || hidden_size == 0)
    throw std::invalid_argument("ChildSumTreeLSTM: input and hidden sizes must be positive");
  if (!(options.cell_dropout >= 0 && options.cell_dropout < 1))
    throw std::invalid_argument("ChildSumTreeLSTM: cell_dropout must be in [0, 1)");
}

namespace {

// Columns [k·d, (k+n)·d) of a [N, K·d] Var: n gate blocks from block k.
template <class T>
Var<T> blocks(Var<T> x, std::size_t k, std::size_t n, std::size_t d) {
  return slice(x, 1, k * d, (k + n) * d);
}

template <class T>
Var<T> row(Var<T> x, std::size_t r) {
  return slice(x, 0, r, r + 1);
}

// The rows of `rows` stacked ([K, d]); a single one is returned as it is.
template <class T>
Var<T> stack_rows(const std::vector<Var<T>>& rows) {
  return rows.size() == 1 ? rows[0] : concat(rows, 0);
}

}  // namespace

template <class T>
ChildSumTreeLSTMOutput<T> ChildSumTreeLSTM<T>::forward(Tape<T>& tape, const data::TreeStructure& tree, Var<T> inputs,
                                                       std::mt19937_64* rng) const {
  data::check_structure(tree, false);
  const std::size_t n = tree.size(), d = hidden_size();
  if (inputs.ndim() != 2 || inputs.dim(0) != n || inputs.dim(1) != input_size())
    throw ShapeError("ChildSumTreeLSTM", "inputs must be [" + std::to_string(n) + ", " + std::to_string(input_size()) +
                                             "] for a tree of " + std::to_string(n) + " nodes, got " +
                                             shape_str(inputs.shape()));
  const double p = options_.cell_dropout;
  require_dropout_generator("ChildSumTreeLSTM", this->training(), p, rng);
  const bool drop = this->training() && p > 0 && rng;
  auto candidate = [&](Var<T> z_u) {  // u = tanh(z_u), with cell dropout
    Var<T> u = tanh(z_u);
    return drop ? dropout(u, static_cast<T>(p), true, *rng) : u;
  };

  // xp = x Wᵀ + b for every node: [N, 4d], blocks i, o, u, f.
  Var<T> xp = linear(inputs, tape.param(W), tape.param(b));
  Var<T> Ui = tape.param(U_iou), Uf = tape.param(U_f);

  // Leaves, all at once: c = i⊙u, h = o⊙tanh(c).
  std::vector<std::int64_t> leaves;
  std::vector<std::size_t> leaf_row(n, 0);
  for (int j : tree.order)
    if (tree.children[j].empty()) {
      leaf_row[j] = leaves.size();
      leaves.push_back(j);
    }
  Var<T> leaf_h, leaf_c;
  if (!leaves.empty()) {
    Var<T> z = gather_rows(blocks(xp, 0, 3, d), leaves);  // [L, 3d]
    Var<T> io = sigmoid(blocks(z, 0, 2, d));
    leaf_c = blocks(io, 0, 1, d) * candidate(blocks(z, 2, 1, d));
    leaf_h = blocks(io, 1, 1, d) * tanh(leaf_c);
  }

  std::vector<Var<T>> h(n), c(n), hk, ck;
  for (int j : tree.order) {
    const std::vector<int>& kids = tree.children[j];
    if (kids.empty()) {
      h[j] = row(leaf_h, leaf_row[j]);
      c[j] = row(leaf_c, leaf_row[j]);
      continue;
    }
    hk.clear();
    ck.clear();
    for (int k : kids) {
      hk.push_back(h[k]);
      ck.push_back(c[k]);
    }
    Var<T> H = stack_rows(hk), C = stack_rows(ck);  // [K, d]
    Var<T> x = row(xp, static_cast<std::size_t>(j));
    // h̃ = Σ_k h_k;  [i o u] pre-activations = W_iou x + U_iou h̃ + b_iou
    Var<T> h_sum = kids.size() == 1 ? H : sum(H, 0, true);
    Var<T> z = blocks(x, 0, 3, d) + matmul(h_sum, Ui, false, true);
    // f_jk = σ(W_f x + U_f h_k + b_f), all K children in one [K, d] GEMM
    Var<T> f = sigmoid(blocks(x, 3, 1, d) + matmul(H, Uf, false, true));
    Var<T> io = sigmoid(blocks(z, 0, 2, d));
    // c = i⊙u + Σ_k f_jk⊙c_k,  h = o⊙tanh(c)
    Var<T> fc = f * C;
    c[j] = blocks(io, 0, 1, d) * candidate(blocks(z, 2, 1, d)) + (kids.size() == 1 ? fc : sum(fc, 0, true));
    h[j] = blocks(io, 1, 1, d) * tanh(c[j]);
  }
  ChildSumTreeLSTMOutput<T> out;
  out.root = h[tree.root()];
  out.h = stack_rows(h);
  out.c = stack_rows(c);
  return out;
}

template class ChildSumTreeLSTM<float>;
template class ChildSumTreeLSTM<double>;

}  // namespace tapenet
