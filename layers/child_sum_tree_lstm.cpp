#include "layers/child_sum_tree_lstm.hpp"

#include <algorithm>
#include <cstdint>
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

bool is_identity(const std::vector<std::int64_t>& index, std::size_t rows) {
  if (index.size() != rows) return false;
  for (std::size_t i = 0; i < rows; ++i)
    if (index[i] != static_cast<std::int64_t>(i)) return false;
  return true;
}

// Rows `index` of x; x itself when index is 0, 1, ..., rows - 1.
template <class T>
Var<T> pick_rows(Var<T> x, const std::vector<std::int64_t>& index) {
  return is_identity(index, x.dim(0)) ? x : gather_rows(x, index);
}

// y[p] = Σ_{r : segment[r] = p} x[r] for x [M, d] -> y [P, d], each row's terms added in
// increasing r; backward dx[r] += dy[segment[r]] (the transpose of gather_rows). One op
// whatever the fan-out; x itself when segment is 0, 1, ..., P - 1.
template <class T>
Var<T> segment_sum(Var<T> x, const std::vector<std::int64_t>& segment, std::size_t P) {
  if (is_identity(segment, P)) return x;
  const std::size_t D = x.dim(1);
  Tensor<T> y = zeros<T>({P, D});
  const T* xs = x.value().data();
  for (std::size_t r = 0; r < segment.size(); ++r) {
    T* out = y.data() + segment[r] * D;
    for (std::size_t j = 0; j < D; ++j) out[j] += xs[r * D + j];
  }
  const auto ix = x.id();
  return x.tape().record("segment_sum", std::move(y), {x}, [ix, segment, D](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(ix).data();
    for (std::size_t r = 0; r < segment.size(); ++r)
      for (std::size_t j = 0; j < D; ++j) dx[r * D + j] += g.data()[segment[r] * D + j];
  });
}

}  // namespace

// Level-batched: a node's level is 0 for a leaf, else 1 + its highest child's level. All the
// nodes of one level are computed together (their children are on lower levels), so a level
// costs a fixed number of ops plus two gathers per lower level it reads from, and the
// per-node arithmetic runs as [nodes of the level, ·] GEMMs and elementwise ops.
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

  // Levels, and each node's row within its level (in the order of tree.order).
  std::vector<std::size_t> level(n, 0), row_in(n, 0);
  std::size_t top = 0;
  for (int j : tree.order) {
    for (int k : tree.children[j]) level[j] = std::max(level[j], level[k] + 1);
    top = std::max(top, level[j]);
  }
  std::vector<std::vector<std::int64_t>> at_level(top + 1);
  for (int j : tree.order) {
    row_in[j] = at_level[level[j]].size();
    at_level[level[j]].push_back(j);
  }

  // xp = x Wᵀ + b for every node: [N, 4d], blocks i, o, u, f.
  Var<T> xp = linear(inputs, tape.param(W), tape.param(b));
  Var<T> Ui = tape.param(U_iou), Uf = tape.param(U_f);
  std::vector<Var<T>> H(top + 1), C(top + 1);  // [nodes of the level, d]

  // Leaves (level 0): h̃ = 0, no forget gate: c = i⊙u, h = o⊙tanh(c).
  {
    Var<T> z = pick_rows(blocks(xp, 0, 3, d), at_level[0]);  // [L, 3d]
    Var<T> io = sigmoid(blocks(z, 0, 2, d));
    C[0] = blocks(io, 0, 1, d) * candidate(blocks(z, 2, 1, d));
    H[0] = blocks(io, 1, 1, d) * tanh(C[0]);
  }
  for (std::size_t l = 1; l <= top; ++l) {
    const std::vector<std::int64_t>& nodes = at_level[l];
    // The children of this level's nodes, grouped by the level they are on (in the order of
    // `nodes` within a group); parent[r] is the position in `nodes` of child row r's parent.
    struct Child {
      std::size_t level;
      std::int64_t row, parent;
    };
    std::vector<Child> kids;
    for (std::size_t q = 0; q < nodes.size(); ++q)
      for (int k : tree.children[nodes[q]])
        kids.push_back({level[k], static_cast<std::int64_t>(row_in[k]), static_cast<std::int64_t>(q)});
    std::stable_sort(kids.begin(), kids.end(), [](const Child& a, const Child& b) { return a.level < b.level; });
    std::vector<Var<T>> hs, cs;
    std::vector<std::int64_t> parent, rows;
    for (std::size_t first = 0; first < kids.size();) {  // one run of children per lower level
      std::size_t last = first;
      rows.clear();
      for (; last < kids.size() && kids[last].level == kids[first].level; ++last) {
        rows.push_back(kids[last].row);
        parent.push_back(kids[last].parent);
      }
      hs.push_back(pick_rows(H[kids[first].level], rows));
      cs.push_back(pick_rows(C[kids[first].level], rows));
      first = last;
    }
    Var<T> Hk = stack_rows(hs), Ck = stack_rows(cs);  // [children, d]
    Var<T> x = pick_rows(xp, nodes);                  // [nodes, 4d]
    // f_jk = σ(W_f x_j + U_f h_k + b_f): one row per child, one GEMM for all of them
    Var<T> f = sigmoid(pick_rows(blocks(x, 3, 1, d), parent) + matmul(Hk, Uf, false, true));
    // h̃_j = Σ_k h_k;  [i o u] pre-activations = W_iou x_j + U_iou h̃_j + b_iou
    Var<T> h_sum = segment_sum(Hk, parent, nodes.size());
    Var<T> z = blocks(x, 0, 3, d) + matmul(h_sum, Ui, false, true);
    Var<T> io = sigmoid(blocks(z, 0, 2, d));
    // c_j = i_j⊙u_j + Σ_k f_jk⊙c_k,  h_j = o_j⊙tanh(c_j)
    C[l] = blocks(io, 0, 1, d) * candidate(blocks(z, 2, 1, d)) + segment_sum(f * Ck, parent, nodes.size());
    H[l] = blocks(io, 1, 1, d) * tanh(C[l]);
  }

  // Back to node order: node j is row offset[level j] + row_in[j] of the levels stacked.
  std::vector<std::size_t> offset(top + 1, 0);
  for (std::size_t l = 1; l <= top; ++l) offset[l] = offset[l - 1] + at_level[l - 1].size();
  std::vector<std::int64_t> node_row(n);
  for (std::size_t j = 0; j < n; ++j) node_row[j] = static_cast<std::int64_t>(offset[level[j]] + row_in[j]);
  ChildSumTreeLSTMOutput<T> out;
  Var<T> all_h = stack_rows(H), all_c = stack_rows(C);
  const auto root = static_cast<std::size_t>(node_row[static_cast<std::size_t>(tree.root())]);
  out.root = row(all_h, root);
  out.h = pick_rows(all_h, node_row);
  out.c = pick_rows(all_c, node_row);
  return out;
}

template class ChildSumTreeLSTM<float>;
template class ChildSumTreeLSTM<double>;

}  // namespace tapenet
