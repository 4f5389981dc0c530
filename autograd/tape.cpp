#include "autograd/tape.hpp"

#include "autograd/detail.hpp"
#include "autograd/packed_gemm.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

namespace tapenet {

namespace {
// glibc hands blocks above 128 KiB to mmap and trims the heap top on free, so a training
// step that frees and re-allocates the same large tensors pays fresh page faults every
// step. Tensors up to 256 MiB stay in the heap instead, and freed memory stays mapped for
// reuse (the peak RSS is unchanged: it is reached in the first step either way).
const bool g_malloc_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
}();

// Values up to this many elements stay in recycled nodes until overwritten (freeing them
// would cost an allocation: an empty xarray holds one element).
constexpr std::size_t kKeepValue = 4096;

thread_local bool g_grad_enabled = true;
std::atomic<bool> g_anomaly{false};

template <class T>
std::ptrdiff_t first_non_finite(const Tensor<T>& t) {
  const T* p = t.data();
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(p[i])) return static_cast<std::ptrdiff_t>(i);
  return -1;
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

void set_anomaly_detection(bool on) { g_anomaly.store(on); }
bool anomaly_detection() { return g_anomaly.load(std::memory_order_relaxed); }
AnomalyGuard::AnomalyGuard(bool on) : previous_(anomaly_detection()) { set_anomaly_detection(on); }
AnomalyGuard::~AnomalyGuard() { set_anomaly_detection(previous_); }

// ---- Var -------------------------------------------------------------------

template <class T>
const Tensor<T>& Var<T>::grad() const {
  const auto& n = tape_->node(id_);
  if (!n.has_grad)
    throw TapeError(std::string("grad: no gradient reached this '") + n.op + "' node");
  return n.grad;
}

template <class T>
bool Var<T>::has_grad() const {
  return tape_->node(id_).has_grad;
}

template <class T>
bool Var<T>::requires_grad() const {
  return tape_->requires_grad(id_);
}

template <class T>
T Var<T>::item() const {
  const auto& v = value();
  if (v.size() != 1) throw ShapeError("item", "needs one element, got " + shape_str(v.shape()));
  return v.data()[0];
}

// ---- SparseRows ----------------------------------------------------------------

template <class T>
void SparseRows<T>::add(std::int64_t row, const T* g, std::size_t width) {
  width_ = width;
  auto [it, inserted] = slot_.emplace(row, rows_.size());
  if (inserted) {
    rows_.push_back(row);
    values_.resize(rows_.size() * width, T(0));
  }
  T* v = values_.data() + it->second * width;
  for (std::size_t j = 0; j < width; ++j) v[j] += g[j];
}

template <class T>
void SparseRows<T>::add(const SparseRows& other) {
  for (std::size_t i = 0; i < other.rows_.size(); ++i)
    add(other.rows_[i], other.values_.data() + i * other.width_, other.width_);
}

template <class T>
void SparseRows<T>::add_into(T* dense) const {
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    T* d = dense + rows_[i] * width_;
    const T* v = values_.data() + i * width_;
    for (std::size_t j = 0; j < width_; ++j) d[j] += v[j];
  }
}

template <class T>
void SparseRows<T>::add_into(T* dense, std::size_t begin, std::size_t end) const {
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const std::size_t row_begin = std::size_t(rows_[i]) * width_;
    const std::size_t from = std::max(begin, row_begin), to = std::min(end, row_begin + width_);
    const T* v = values_.data() + i * width_ - row_begin;  // indexed by flat entry
    for (std::size_t k = from; k < to; ++k) dense[k] += v[k];
  }
}

template <class T>
void SparseRows<T>::clear() {
  rows_.clear();
  values_.clear();
  slot_.clear();
}

// ---- GradientBuffer ----------------------------------------------------------

template <class T>
void GradientBuffer<T>::add(const Parameter<T>* p, const Tensor<T>& g) {
  auto it = grads_.find(p);
  if (it == grads_.end()) {
    it = grads_.emplace(p, g).first;
    if (auto r = rows_.find(p); r != rows_.end()) {  // rows buffered before: now dense
      r->second.add_into(it->second.data());
      rows_.erase(r);
    }
  } else {
    it->second += g;
  }
}

template <class T>
void GradientBuffer<T>::add_rows(const Parameter<T>* p, const SparseRows<T>& rows) {
  if (auto it = grads_.find(p); it != grads_.end())
    rows.add_into(it->second.data());
  else
    rows_[p].add(rows);
}

template <class T>
const Tensor<T>* GradientBuffer<T>::find(const Parameter<T>* p) const {
  if (auto r = rows_.find(p); r != rows_.end()) {  // expand: from now on p is dense here
    Tensor<T> dense = zeros<T>(to_shape(p->value.shape()));
    r->second.add_into(dense.data());
    rows_.erase(r);
    return &grads_.emplace(p, std::move(dense)).first->second;
  }
  auto it = grads_.find(p);
  return it == grads_.end() ? nullptr : &it->second;
}

template <class T>
void GradientBuffer<T>::add_into_parameters() const {
  for (const auto& [p, g] : grads_) const_cast<Parameter<T>*>(p)->grad += g;
  for (const auto& [p, r] : rows_) r.add_into(const_cast<Parameter<T>*>(p)->grad.data());
}

template <class T>
void GradientBuffer<T>::add_into(const Parameter<T>* p, Tensor<T>& grad) const {
  if (auto it = grads_.find(p); it != grads_.end()) grad += it->second;
  if (auto r = rows_.find(p); r != rows_.end()) r->second.add_into(grad.data());
}

template <class T>
void GradientBuffer<T>::add_into(const Parameter<T>* p, T* grad_data, std::size_t begin, std::size_t end) const {
  if (auto it = grads_.find(p); it != grads_.end()) {
    const T* g = it->second.data();
    for (std::size_t k = begin; k < end; ++k) grad_data[k] += g[k];
  }
  if (auto r = rows_.find(p); r != rows_.end()) r->second.add_into(grad_data, begin, end);
}

template <class T>
void GradientBuffer<T>::add_into(GradientBuffer& other) const {
  for (const auto& [p, g] : grads_) other.add(p, g);
  for (const auto& [p, r] : rows_) other.add_rows(p, r);
}

// ---- Tape ----------------------------------------------------------------------

template <class T>
typename Tape<T>::Node& Tape<T>::append() {
  if (size_ == nodes_.size()) {
    ++size_;
    return nodes_.emplace_back();
  }
  Node& n = nodes_[size_++];  // recycled: keeps its gradient buffer's storage
  n.borrowed = nullptr;
  n.has_grad = false;
  n.requires_grad = false;
  n.op = "";
  n.param = nullptr;
  return n;
}

template <class T>
Var<T> Tape<T>::constant(Tensor<T> value) {
  Node& n = append();
  n.value = std::move(value);
  n.op = "constant";
  return Var<T>(this, static_cast<std::uint32_t>(size_ - 1));
}

template <class T>
Var<T> Tape<T>::input(Tensor<T> value) {
  Node& n = append();
  n.value = std::move(value);
  n.op = "input";
  n.requires_grad = true;
  return Var<T>(this, static_cast<std::uint32_t>(size_ - 1));
}

template <class T>
Var<T> Tape<T>::param(Parameter<T>& p) {
  auto it = param_nodes_.find(&p);
  if (it != param_nodes_.end()) return Var<T>(this, it->second);
  Node& n = append();
  if (n.value.size() > kKeepValue) n.value = Tensor<T>();
  n.borrowed = &p.value;
  n.op = "parameter";
  n.requires_grad = true;
  n.param = &p;
  auto id = static_cast<std::uint32_t>(size_ - 1);
  param_nodes_.emplace(&p, id);
  return Var<T>(this, id);
}

template <class T>
template <class Inputs>
Var<T> Tape<T>::record_node(const char* op, Tensor<T> value, const Inputs& inputs, BackwardFn backward) {
  check_inputs(op, inputs);
  bool needs = false;
  if (g_grad_enabled)
    for (const auto& v : inputs) needs = needs || nodes_[v.id()].requires_grad;
  Node& n = append();
  n.value = std::move(value);
  n.op = op;
  n.requires_grad = needs;
  if (needs) n.backward = std::move(backward);
  if (anomaly_detection()) check_finite_output(n);
  return Var<T>(this, static_cast<std::uint32_t>(size_ - 1));
}

template <class T>
Var<T> Tape<T>::record(const char* op, Tensor<T> value, std::initializer_list<Var<T>> inputs,
                       BackwardFn backward) {
  return record_node(op, std::move(value), inputs, std::move(backward));
}

template <class T>
Var<T> Tape<T>::record(const char* op, Tensor<T> value, const std::vector<Var<T>>& inputs,
                       BackwardFn backward) {
  return record_node(op, std::move(value), inputs, std::move(backward));
}

template <class T>
void Tape<T>::throw_foreign_input(const char* op, std::size_t position, const Var<T>& v) const {
  const std::string input = std::string(op) + ": input " + std::to_string(position);
  if (!v.valid()) throw TapeError(input + " is an empty Var (default-constructed, never recorded)");
  if (!v.on(this))
    throw TapeError(input + " is recorded on another tape (use one tape per graph; a value from another "
                            "tape enters as tape.constant(v.value()), a parameter as tape.param(p))");
  throw TapeError(input + " was recorded before this tape's clear() (node " + std::to_string(v.id()) + " of " +
                  std::to_string(size_) + ")");
}

template <class T>
void Tape<T>::check_finite_output(const Node& n) const {
  auto bad = first_non_finite(n.val());
  if (bad >= 0)
    throw AnomalyError(std::string("'") + n.op + "'",
                       "produced NaN/Inf in its output at flat index " + std::to_string(bad) +
                           " (shape " + shape_str(n.val().shape()) + ")");
}

template <class T>
Tensor<T>& Tape<T>::grad_buffer(std::uint32_t id) {
  Node& n = nodes_[id];
  if (!n.has_grad) {
    const auto& shape = n.val().shape();
    if (n.grad.size() == n.val().size())
      n.grad.resize(shape);  // same size: reshapes in place, no allocation
    else
      n.grad = Tensor<T>::from_shape(shape);
    n.grad.fill(T(0));
    n.has_grad = true;
  }
  return n.grad;
}

template <class T>
Tape<T>::Tape() = default;
template <class T>
Tape<T>::~Tape() = default;

template <class T>
void Tape<T>::add_product_grad(std::uint32_t id, const T* A, std::size_t lda, std::size_t M, const T* B,
                               std::size_t ldb, std::size_t N, std::size_t rows) {
  Node& n = nodes_[id];
  if (!n.requires_grad || M == 0 || N == 0 || rows == 0) return;
  if (n.val().size() != M * N)
    throw ShapeError("add_product_grad", std::to_string(M) + " x " + std::to_string(N) + " for a node of shape " +
                                             shape_str(n.val().shape()));
  if (n.backward || anomaly_detection()) {  // not a leaf (or anomaly checks want it now): at once
    detail::gemm_accumulate(true, false, M, N, rows, A, lda, B, ldb, grad_buffer(id).data(), N);
    return;
  }
  auto it = std::find_if(outer_.begin(), outer_.end(), [&](const Outer& o) { return o.id == id && o.M == M && o.N == N; });
  if (it == outer_.end()) it = outer_.insert(outer_.end(), Outer{id, M, N, 0, {}, {}});
  const std::size_t count = it->count + rows;
  if (it->A.size() < count * M) it->A.resize(std::max(2 * it->A.size(), count * M));
  if (it->B.size() < count * N) it->B.resize(std::max(2 * it->B.size(), count * N));
  for (std::size_t r = 0; r < rows; ++r) {
    std::copy_n(A + r * lda, M, it->A.data() + (it->count + r) * M);
    std::copy_n(B + r * ldb, N, it->B.data() + (it->count + r) * N);
  }
  it->count = count;
}

// grad(id) += Aᵀ B: every pending product of a leaf in one GEMM.
template <class T>
void Tape<T>::flush_outer_products() {
  for (Outer& o : outer_) {
    if (o.count == 0) continue;
    detail::gemm_accumulate(true, false, o.M, o.N, o.count, o.A.data(), o.M, o.B.data(), o.N,
                            grad_buffer(o.id).data(), o.N);
    o.count = 0;
  }
}

template <class T>
void Tape<T>::add_rows_grad(std::uint32_t id, const std::vector<std::int64_t>& rows, const T* g, std::size_t width) {
  Node& n = nodes_[id];
  if (!n.requires_grad || width == 0) return;
  if (!n.param || anomaly_detection()) {
    T* d = grad_buffer(id).data();
    for (std::size_t r = 0; r < rows.size(); ++r)
      for (std::size_t j = 0; j < width; ++j) d[rows[r] * width + j] += g[r * width + j];
    return;
  }
  auto it = std::find_if(sparse_.begin(), sparse_.end(), [&](const auto& e) { return e.first == id; });
  if (it == sparse_.end()) it = sparse_.insert(sparse_.end(), {id, SparseRows<T>()});
  for (std::size_t r = 0; r < rows.size(); ++r) it->second.add(rows[r], g + r * width, width);
}

template <class T>
const detail::PackedWeight<T>* Tape<T>::packed_parameter(std::uint32_t id, bool transposed) {
  const Node& n = node(id);
  if (!n.param || n.val().dimension() != 2 || detail::best_packed_isa() == detail::PackedIsa::None) return nullptr;
  for (const PackedEntry& e : packed_)
    if (e.id == id && e.transposed == transposed) return e.packed.get();
  const Tensor<T>& W = n.val();
  const std::size_t rows = W.shape()[0], cols = W.shape()[1];
  const std::size_t K = transposed ? cols : rows, N = transposed ? rows : cols;
  packed_.push_back({id, transposed, std::make_unique<detail::PackedWeight<T>>(W.data(), cols, K, N, transposed)});
  return packed_.back().packed.get();
}

template <class T>
void Tape<T>::backward(Var<T> loss, bool retain_graph) {
  if (loss.value().size() != 1)
    throw TapeError("backward: the loss must have one element, got shape " +
                    shape_str(loss.shape()) + "; pass a seed gradient for other outputs");
  backward(loss, full<T>(to_shape(loss.shape()), T(1)), retain_graph);
}

template <class T>
void Tape<T>::backward(Var<T> root, const Tensor<T>& seed, bool retain_graph) {
  if (root.valid() && &root.tape() != this)
    throw TapeError("backward: the variable belongs to another tape");
  if (freed_)
    throw TapeError(
        "backward: this tape was freed by a previous backward(); record the graph again "
        "(after clear()) or pass retain_graph=true to the first backward()");
  if (to_shape(seed.shape()) != to_shape(root.shape()))
    throw ShapeError("backward", "seed " + shape_str(seed.shape()) + " for output " +
                                     shape_str(root.shape()));
  if (!nodes_[root.id()].requires_grad)
    throw TapeError("backward: the output does not depend on any input that requires a gradient");
  // Gradients left in op nodes by a previous retained backward were already propagated to
  // the leaves; propagating them again would double-count. Only leaves keep accumulating.
  for (std::size_t i = 0; i < size_; ++i)
    if (nodes_[i].backward) nodes_[i].has_grad = false;
  accumulate(root.id(), seed);
  run_backward(root.id(), retain_graph);
}

template <class T>
void Tape<T>::run_backward(std::uint32_t root, bool retain_graph) {
  const bool check = anomaly_detection();
  for (std::int64_t i = root; i >= 0; --i) {
    Node& n = nodes_[static_cast<std::size_t>(i)];
    if (!n.has_grad) continue;
    if (check) {  // before the closure, and for leaves too (inputs, parameters)
      auto bad = first_non_finite(n.grad);
      if (bad >= 0)
        throw AnomalyError(n.backward ? std::string("backward of '") + n.op + "'"
                                      : std::string("gradient of leaf '") + (n.param ? n.param->name : n.op) + "'",
                           "received a NaN/Inf gradient at flat index " + std::to_string(bad));
    }
    if (!n.backward) continue;
    n.backward(*this, n.grad, n.val());
  }
  flush_outer_products();
  flush_parameter_grads();
  if (!retain_graph) {
    for (std::size_t i = 0; i < size_; ++i) nodes_[i].backward = nullptr;
    freed_ = true;
  }
}

template <class T>
void Tape<T>::flush_parameter_grads() {
  // Row-sparse gradients join a dense one where the parameter has one too, else go as rows.
  for (auto& [id, rows] : sparse_) {
    Node& n = nodes_[id];
    if (rows.empty()) continue;
    if (n.has_grad)
      rows.add_into(n.grad.data());
    else if (sink_)
      sink_->add_rows(n.param, rows);
    else
      rows.add_into(n.param->grad.data());
    rows.clear();
  }
  // Visit parameters in creation order so the sum order never depends on hashing.
  for (std::size_t i = 0; i < size_; ++i) {
    Node& n = nodes_[i];
    if (!n.param || !n.has_grad) continue;
    if (sink_)
      sink_->add(n.param, n.grad);
    else
      n.param->grad += n.grad;
    n.grad.fill(T(0));  // a retained graph must not flush the same gradient twice
  }
}

template <class T>
void Tape<T>::clear() {
  for (std::size_t i = 0; i < size_; ++i) {  // closures (saved tensors) and large values go
    nodes_[i].backward = nullptr;             // now; gradient buffers stay for reuse
    if (nodes_[i].value.size() > kKeepValue) nodes_[i].value = Tensor<T>();
  }
  size_ = 0;
  param_nodes_.clear();
  packed_.clear();
  sparse_.clear();
  for (Outer& o : outer_) o.count = 0;
  freed_ = false;
}

template class SparseRows<float>;
template class SparseRows<double>;
template class Var<float>;
template class Var<double>;
template class GradientBuffer<float>;
template class GradientBuffer<double>;
template class Tape<float>;
template class Tape<double>;

}  // namespace tapenet
