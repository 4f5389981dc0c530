/// @file
/// The tape (a Wengert list). Every op appends one node holding its forward value and a
/// closure that maps the gradient of its output to gradients of its inputs. Nodes are
/// appended in execution order, so that order is already topological: backward() is one
/// reverse loop over the list — no recursion, no sort — and a 10 000-step unroll costs
/// nothing on the call stack.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>
#include <unordered_map>

#include "autograd/errors.hpp"
#include "autograd/inline_function.hpp"
#include "autograd/parameter.hpp"
#include "autograd/tensor.hpp"

namespace tapenet {

template <class T>
class Tape;

namespace detail {
template <class T>
class PackedWeight;
}

/// A cheap handle to one node of a tape: (tape, index). Copying a Var copies 16 bytes.
template <class T>
class Var {
 public:
  Var() = default;
  Var(Tape<T>* tape, std::uint32_t id) : tape_(tape), id_(id) {}

  const Tensor<T>& value() const;
  const Tensor<T>& grad() const;  ///< throws TapeError when no gradient reached this node
  bool has_grad() const;
  bool requires_grad() const;
  const auto& shape() const { return value().shape(); }
  std::size_t dim(std::size_t axis) const { return value().shape()[axis]; }
  std::size_t ndim() const { return value().dimension(); }
  std::size_t size() const { return value().size(); }
  T item() const;  ///< the value of a one-element tensor

  Tape<T>& tape() const { return *tape_; }
  std::uint32_t id() const { return id_; }
  bool valid() const { return tape_ != nullptr; }
  bool on(const Tape<T>* tape) const { return tape_ == tape; }

 private:
  Tape<T>* tape_ = nullptr;
  std::uint32_t id_ = 0;
};

/// Some rows of a [V, width] gradient, the others zero (an embedding table's gradient from
/// one minibatch): the row ids in first-seen order and their sums, each summed from zero in the
/// order of the calls, so that adding them into a dense tensor gives the dense path's bits.
template <class T>
class SparseRows {
 public:
  void add(std::int64_t row, const T* g, std::size_t width);  ///< row += g[0 .. width)
  void add(const SparseRows& other);
  void add_into(T* dense) const;                              ///< dense[row, :] += row's sum
  void add_into(T* dense, std::size_t begin, std::size_t end) const;  ///< only flat entries [begin, end)
  void clear();
  bool empty() const { return rows_.empty(); }

 private:
  std::size_t width_ = 0;
  std::vector<std::int64_t> rows_;
  std::vector<T> values_;  // rows_.size() × width_
  std::unordered_map<std::int64_t, std::size_t> slot_;
};

/// Per-parameter gradient buffers. A tape flushes its parameter gradients here instead of
/// into Parameter::grad when set as its sink: parallel minibatches give each chunk one
/// buffer and reduce the buffers in a fixed order, so results do not depend on threads.
/// A gradient that reached only some rows of a table (gather_rows) stays row-sparse: a
/// chunk that touches a few hundred words of a large vocabulary moves only those rows.
template <class T>
class GradientBuffer {
 public:
  void add(const Parameter<T>* p, const Tensor<T>& g);
  void add_rows(const Parameter<T>* p, const SparseRows<T>& rows);
  /// The buffered gradient of p as a dense tensor (row-sparse ones are expanded), or nullptr.
  const Tensor<T>* find(const Parameter<T>* p) const;
  /// Adds every buffered gradient into its parameter's grad (p->grad += buffer).
  void add_into_parameters() const;
  /// The same for one parameter only, into `grad` (p's shape): a reduction across processes
  /// folds one parameter at a time with the bits add_into_parameters would give.
  void add_into(const Parameter<T>* p, Tensor<T>& grad) const;
  /// Only the flat entries [begin, end) of p's gradient, into grad_data (p's layout): a
  /// reduction pipelines a large parameter in segments with the same per-entry additions.
  void add_into(const Parameter<T>* p, T* grad_data, std::size_t begin, std::size_t end) const;
  void add_into(GradientBuffer& other) const;
  void clear() {
    grads_.clear();
    rows_.clear();
  }
  bool empty() const { return grads_.empty() && rows_.empty(); }

 private:
  mutable std::unordered_map<const Parameter<T>*, Tensor<T>> grads_;
  mutable std::unordered_map<const Parameter<T>*, SparseRows<T>> rows_;
};

/// Gradient mode: inside a NoGradGuard ops still compute values but record no closures.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Anomaly mode: when on, the first op whose output (or backward gradient) holds NaN/Inf
/// throws AnomalyError naming that op. Process-wide; off by default (it costs a scan).
void set_anomaly_detection(bool on);
bool anomaly_detection();
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool on = true);
  ~AnomalyGuard();
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

template <class T>
class Tape {
 public:
  /// Called with the gradient of the node's output and the output's value (many derivatives
  /// are cheapest in terms of the output: tanh' = 1 - y²); adds into the inputs' gradients.
  /// Closures up to 64 bytes are stored in the node itself (autograd/inline_function.hpp).
  using BackwardFn = InlineFunction<void(Tape&, const Tensor<T>& grad_out, const Tensor<T>& out)>;

  struct Node {
    Tensor<T> value;
    const Tensor<T>* borrowed = nullptr;  ///< parameters: the tape reads, never copies
    Tensor<T> grad;
    bool has_grad = false;
    bool requires_grad = false;
    const char* op = "";
    BackwardFn backward;
    Parameter<T>* param = nullptr;
    const Tensor<T>& val() const { return borrowed ? *borrowed : value; }
  };

  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // Leaves.
  Var<T> constant(Tensor<T> value);  ///< never receives a gradient
  Var<T> input(Tensor<T> value);     ///< a leaf whose gradient can be read after backward
  Var<T> param(Parameter<T>& p);     ///< one node per parameter per tape; gradients flush to p

  /// Appends an op's node. The closure is kept only when some input requires a gradient
  /// and gradient mode is on. Every input must be a live node of this tape (check_inputs).
  Var<T> record(const char* op, Tensor<T> value, std::initializer_list<Var<T>> inputs,
                BackwardFn backward);
  Var<T> record(const char* op, Tensor<T> value, const std::vector<Var<T>>& inputs,
                BackwardFn backward);

  /// Throws TapeError naming `op` and the input (counted from 1) when an input is not a live
  /// node of this tape: empty (default-constructed), recorded on another tape (another
  /// parallel_batch chunk, a generate() loop's tape), or past the tape's end (kept across clear()).
  /// record() checks; an op that reads its inputs' nodes before recording (a packed weight)
  /// calls it first. Parameters are tape-free: param(p) gives each tape its own node of p.
  template <class Inputs>
  void check_inputs(const char* op, const Inputs& inputs) const {
    std::size_t position = 0;
    for (const Var<T>& v : inputs) {
      ++position;
      if (!v.on(this) || v.id() >= size_) throw_foreign_input(op, position, v);
    }
  }
  void check_inputs(const char* op, std::initializer_list<Var<T>> inputs) const {
    check_inputs<std::initializer_list<Var<T>>>(op, inputs);
  }

  /// Reverse sweep from a one-element loss (seed 1) or from any node with an explicit seed.
  /// Gradients accumulate (+=). Unless retain_graph, closures are released afterwards and a
  /// second backward() throws until clear().
  void backward(Var<T> loss, bool retain_graph = false);
  void backward(Var<T> root, const Tensor<T>& seed, bool retain_graph = false);

  /// Drops every node. The node objects and their gradient buffers are kept for the next
  /// recording (a training loop that reuses one tape allocates no new nodes or gradient
  /// buffers in the steady state); the destructor frees everything.
  void clear();

  /// Where parameter gradients go: nullptr (default) means Parameter::grad.
  void set_gradient_sink(GradientBuffer<T>* sink) { sink_ = sink; }

  // Helpers for op implementations.
  const Tensor<T>& value(std::uint32_t id) const { return nodes_[id].val(); }
  bool requires_grad(std::uint32_t id) const { return nodes_[id].requires_grad; }
  /// Gradient buffer of a node, zero-initialised on first use, for in-place accumulation.
  Tensor<T>& grad_buffer(std::uint32_t id);
  template <class E>
  void accumulate(std::uint32_t id, E&& expr) {
    Node& n = nodes_[id];
    if (!n.requires_grad) return;
    if (n.has_grad) {
      n.grad += expr;
    } else {
      n.grad = std::forward<E>(expr);
      n.has_grad = true;
    }
  }

  /// grad(id) += Aᵀ B for A [rows, M] and B [rows, N] (row strides lda, ldb), grad viewed as
  /// [M, N]: the weight gradient of a product (dW += Gᵀ X) or, with one row, an outer
  /// product. For a leaf (a parameter or an input) the rows are collected and summed with one
  /// GEMM (K = every row of every call) at the end of the reverse sweep, so a weight used at
  /// each of T steps gets one large product instead of T thin ones that each read and write
  /// the whole gradient. Other nodes are updated at once.
  void add_product_grad(std::uint32_t id, const T* A, std::size_t lda, std::size_t M, const T* B, std::size_t ldb,
                        std::size_t N, std::size_t rows);
  void add_outer_product_grad(std::uint32_t id, const T* a, std::size_t M, const T* b, std::size_t N) {
    add_product_grad(id, a, M, M, b, N, N, 1);
  }

  /// grad(id)[rows[r], :] += g[r, :] for a [V, width] node (an embedding lookup). A
  /// parameter's rows stay sparse until the end of the sweep and are flushed as rows (see
  /// GradientBuffer); anything else, and every node in anomaly mode, is updated at once.
  void add_rows_grad(std::uint32_t id, const std::vector<std::int64_t>& rows, const T* g, std::size_t width);

  /// A parameter's value packed as the right-hand operand of products (B = Wᵀ when
  /// `transposed`, else B = W; autograd/packed_gemm.hpp), or nullptr when the node is no
  /// parameter or no packed kernel runs. Packed at the first request and kept until clear():
  /// a weight used at every step of a user's loop is packed once per recording, not once per
  /// product. Parameters must not change while a tape holds its graph (backward reads them).
  const detail::PackedWeight<T>* packed_parameter(std::uint32_t id, bool transposed);

  const Node& node(std::uint32_t id) const {
    if (id >= size_) throw TapeError("node: id " + std::to_string(id) + " is not on this tape");
    return nodes_[id];
  }
  std::size_t size() const { return size_; }
  bool freed() const { return freed_; }

 private:
  template <class Inputs>
  Var<T> record_node(const char* op, Tensor<T> value, const Inputs& inputs, BackwardFn backward);
  void run_backward(std::uint32_t root, bool retain_graph);
  void flush_parameter_grads();
  void flush_outer_products();
  void check_finite_output(const Node& n) const;
  [[noreturn]] void throw_foreign_input(const char* op, std::size_t position, const Var<T>& v) const;
  Node& append();  // a fresh node: a recycled one when clear() left some, else a new one

  // Products Aᵀ B waiting for the end of the sweep: rows of A [count, M], B [count, N].
  struct Outer {
    std::uint32_t id;
    std::size_t M, N, count;
    std::vector<T> A, B;
  };
  struct PackedEntry {
    std::uint32_t id;
    bool transposed;
    std::unique_ptr<detail::PackedWeight<T>> packed;
  };

  std::deque<Node> nodes_;  // deque: references to nodes stay valid while appending
  std::size_t size_ = 0;    // live nodes; nodes_[size_..] are kept for reuse
  std::vector<Outer> outer_;
  std::vector<PackedEntry> packed_;
  std::vector<std::pair<std::uint32_t, SparseRows<T>>> sparse_;  // parameter node -> its rows
  std::unordered_map<const Parameter<T>*, std::uint32_t> param_nodes_;
  GradientBuffer<T>* sink_ = nullptr;
  bool freed_ = false;
};

/// A leaf holding a copy of x's value, cut from x's history.
template <class T>
Var<T> detach(Var<T> x) {
  return x.tape().constant(x.value());
}

template <class T>
const Tensor<T>& Var<T>::value() const {
  return tape_->value(id_);
}

}  // namespace tapenet
