#include "layers/attention.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "layers/init.hpp"

namespace tapenet {

namespace {

// Checks q [B, H] against M [S·B, H] and returns S.
template <class T>
std::size_t memory_steps(const char* op, const Tensor<T>& q, const Tensor<T>& M, std::size_t q_axis1) {
  if (q.dimension() != 2 || M.dimension() != 2 || q.shape()[0] == 0 || M.shape()[0] % q.shape()[0] != 0 ||
      M.shape()[1] != q_axis1)
    throw ShapeError(op, "query/weights " + shape_str(q.shape()) + " and memory " + shape_str(M.shape()) +
                             " (memory must be [S·B, H])");
  return M.shape()[0] / q.shape()[0];
}

}  // namespace

// e[b,s] = Σ_h q[b,h] M[s·B+b, h]
//   dq[b,:] += Σ_s g[b,s] M[s·B+b, :]      dM[s·B+b, :] += g[b,s] q[b,:]
template <class T>
Var<T> batched_dot(Var<T> q, Var<T> M) {
  const Tensor<T>& Q = q.value();
  const Tensor<T>& Mv = M.value();
  if (Q.dimension() != 2) throw ShapeError("batched_dot", "query must be [B, H], got " + shape_str(Q.shape()));
  const std::size_t B = Q.shape()[0], H = Q.shape()[1];
  const std::size_t S = memory_steps("batched_dot", Q, Mv, H);
  Tensor<T> e = Tensor<T>::from_shape({B, S});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t s = 0; s < S; ++s) {
      const T* qr = Q.data() + b * H;
      const T* mr = Mv.data() + (s * B + b) * H;
      T acc = 0;
      for (std::size_t h = 0; h < H; ++h) acc += qr[h] * mr[h];
      e(b, s) = acc;
    }
  auto iq = q.id(), im = M.id();
  return q.tape().record("batched_dot", std::move(e), {q, M}, [iq, im, B, S, H](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const T* Qd = t.value(iq).data();
    const T* Md = t.value(im).data();
    if (t.requires_grad(iq)) {
      T* dq = t.grad_buffer(iq).data();
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t s = 0; s < S; ++s) {
          const T gs = g(b, s);
          const T* mr = Md + (s * B + b) * H;
          for (std::size_t h = 0; h < H; ++h) dq[b * H + h] += gs * mr[h];
        }
    }
    if (t.requires_grad(im)) {
      T* dM = t.grad_buffer(im).data();
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t s = 0; s < S; ++s) {
          const T gs = g(b, s);
          if (gs == T(0)) continue;  // padded positions (weight 0) leave their rows untouched
          T* dr = dM + (s * B + b) * H;
          for (std::size_t h = 0; h < H; ++h) dr[h] += gs * Qd[b * H + h];
        }
    }
  });
}

// c[b,:] = Σ_s a[b,s] M[s·B+b, :]
//   da[b,s] = g[b,:] · M[s·B+b, :]      dM[s·B+b, :] += a[b,s] g[b,:]
template <class T>
Var<T> weighted_sum(Var<T> a, Var<T> M) {
  const Tensor<T>& A = a.value();
  const Tensor<T>& Mv = M.value();
  if (A.dimension() != 2 || Mv.dimension() != 2 || A.shape()[0] == 0 || Mv.shape()[0] != A.shape()[0] * A.shape()[1])
    throw ShapeError("weighted_sum", "weights " + shape_str(A.shape()) + " and memory " + shape_str(Mv.shape()) +
                                         " (weights [B, S], memory [S·B, H])");
  const std::size_t B = A.shape()[0], S = A.shape()[1], H = Mv.shape()[1];
  Tensor<T> c = zeros<T>({B, H});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t s = 0; s < S; ++s) {
      const T w = A(b, s);
      if (w == T(0)) continue;
      const T* mr = Mv.data() + (s * B + b) * H;
      T* cr = c.data() + b * H;
      for (std::size_t h = 0; h < H; ++h) cr[h] += w * mr[h];
    }
  auto ia = a.id(), im = M.id();
  return a.tape().record("weighted_sum", std::move(c), {a, M}, [ia, im, B, S, H](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const T* Ad = t.value(ia).data();
    const T* Md = t.value(im).data();
    if (t.requires_grad(ia)) {
      T* da = t.grad_buffer(ia).data();
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t s = 0; s < S; ++s) {
          const T* mr = Md + (s * B + b) * H;
          const T* gr = g.data() + b * H;
          T acc = 0;
          for (std::size_t h = 0; h < H; ++h) acc += gr[h] * mr[h];
          da[b * S + s] += acc;
        }
    }
    if (t.requires_grad(im)) {
      T* dM = t.grad_buffer(im).data();
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t s = 0; s < S; ++s) {
          const T w = Ad[b * S + s];
          if (w == T(0)) continue;
          T* dr = dM + (s * B + b) * H;
          const T* gr = g.data() + b * H;
          for (std::size_t h = 0; h < H; ++h) dr[h] += w * gr[h];
        }
    }
  });
}

// y[b,s] = exp(e[b,s] - max) / Σ_{s'<L_b} exp(e[b,s'] - max) for s < L_b, else 0.
//   de[b,s] = y[b,s] (g[b,s] - Σ_s' y[b,s'] g[b,s'])   (0 where y is 0)
template <class T>
Var<T> masked_softmax(Var<T> e, const std::vector<std::size_t>& lengths) {
  const Tensor<T>& E = e.value();
  if (E.dimension() != 2 || E.shape()[0] != lengths.size())
    throw ShapeError("masked_softmax", "scores " + shape_str(E.shape()) + " with " + std::to_string(lengths.size()) +
                                           " lengths (scores must be [B, S], one length per row)");
  const std::size_t B = E.shape()[0], S = E.shape()[1];
  Tensor<T> y = zeros<T>({B, S});
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t L = lengths[b];
    if (L == 0 || L > S)
      throw ShapeError("masked_softmax", "length " + std::to_string(L) + " of row " + std::to_string(b) +
                                             " is not in 1.." + std::to_string(S));
    T m = E(b, 0);
    for (std::size_t s = 1; s < L; ++s) m = std::max(m, E(b, s));
    T z = 0;
    for (std::size_t s = 0; s < L; ++s) z += y(b, s) = std::exp(E(b, s) - m);
    for (std::size_t s = 0; s < L; ++s) y(b, s) /= z;
  }
  auto ie = e.id();
  return e.tape().record("masked_softmax", std::move(y), {e}, [ie, B, S](Tape<T>& t, const Tensor<T>& g, const Tensor<T>& y) {
    T* de = t.grad_buffer(ie).data();
    for (std::size_t b = 0; b < B; ++b) {
      T dot = 0;
      for (std::size_t s = 0; s < S; ++s) dot += y(b, s) * g(b, s);
      for (std::size_t s = 0; s < S; ++s) de[b * S + s] += y(b, s) * (g(b, s) - dot);
    }
  });
}

const char* attention_name(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::Additive: return "additive";
    case AttentionKind::Dot: return "dot";
    case AttentionKind::General: return "general";
  }
  return "?";
}

AttentionKind parse_attention(const std::string& name) {
  if (name == "additive" || name == "bahdanau") return AttentionKind::Additive;
  if (name == "dot") return AttentionKind::Dot;
  if (name == "general" || name == "luong") return AttentionKind::General;
  throw std::invalid_argument("unknown attention '" + name + "' (additive, dot, general)");
}

template <class T>
Attention<T>::Attention(AttentionKind kind, std::size_t query_size, std::size_t key_size, std::mt19937_64& rng,
                        std::size_t attention_size)
    : kind_(kind), query_size_(query_size), key_size_(key_size) {
  const std::size_t A = attention_size ? attention_size : query_size;
  switch (kind) {
    case AttentionKind::Additive:
      W_q = &this->add_parameter("W_q", init::glorot_uniform<T>({A, query_size}, rng));
      b = &this->add_parameter("b", zeros<T>({1, A}));
      W_k = &this->add_parameter("W_k", init::glorot_uniform<T>({A, key_size}, rng));
      v = &this->add_parameter("v", init::glorot_uniform<T>({A, 1}, rng));
      break;
    case AttentionKind::Dot:
      if (query_size != key_size)
        throw std::invalid_argument("Attention: dot scores need query size = key size, got " +
                                    std::to_string(query_size) + " and " + std::to_string(key_size) +
                                    " (use general)");
      break;
    case AttentionKind::General:
      W = &this->add_parameter("W", init::glorot_uniform<T>({key_size, query_size}, rng));
      break;
  }
}

template <class T>
AttentionMemory<T> Attention<T>::prepare(Tape<T>& tape, Var<T> values, std::size_t batch,
                                         const std::vector<std::size_t>& lengths) const {
  if (values.ndim() != 2 || batch == 0 || values.dim(0) % batch != 0 || values.dim(1) != key_size_)
    throw ShapeError("Attention::prepare", "memory " + shape_str(values.shape()) + " is not [S·B, " +
                                               std::to_string(key_size_) + "] for B = " + std::to_string(batch));
  AttentionMemory<T> m;
  m.values = values;
  m.steps = values.dim(0) / batch;
  m.batch = batch;
  m.lengths = lengths.empty() ? std::vector<std::size_t>(batch, m.steps) : lengths;
  if (m.lengths.size() != batch)
    throw ShapeError("Attention::prepare", std::to_string(m.lengths.size()) + " lengths for B = " + std::to_string(batch));
  // additive: the key half W_k m of the score, once for all decoder steps
  m.keys = kind_ == AttentionKind::Additive ? matmul(values, tape.param(*W_k), false, true) : values;
  return m;
}

template <class T>
Var<T> Attention<T>::scores(Tape<T>& tape, Var<T> query, const AttentionMemory<T>& memory) const {
  if (query.ndim() != 2 || query.dim(0) != memory.batch || query.dim(1) != query_size_)
    throw ShapeError("Attention", "query " + shape_str(query.shape()) + " is not [" + std::to_string(memory.batch) +
                                      ", " + std::to_string(query_size_) + "]");
  switch (kind_) {
    case AttentionKind::Additive: {
      // e[b,s] = vᵀ tanh(W_q q_b + b + W_k m_{s,b}); the query part is repeated for every s
      Var<T> qp = matmul(query, tape.param(*W_q), false, true) + tape.param(*b);  // [B, A]
      Var<T> hidden = tanh(memory.keys + concat(std::vector<Var<T>>(memory.steps, qp), 0));  // [S·B, A]
      Var<T> e = matmul(hidden, tape.param(*v));  // [S·B, 1], time-major
      return transpose(reshape(e, {memory.steps, memory.batch}));  // [B, S]
    }
    case AttentionKind::Dot:
      // e[b,s] = q_bᵀ m_{s,b}
      return batched_dot(query, memory.keys);
    case AttentionKind::General:
      // e[b,s] = q_bᵀ Wᵀ m_{s,b} = (W q_b) · m_{s,b}
      return batched_dot(matmul(query, tape.param(*W), false, true), memory.keys);
  }
  throw std::logic_error("Attention: bad kind");
}

template <class T>
AttentionOutput<T> Attention<T>::forward(Tape<T>& tape, Var<T> query, const AttentionMemory<T>& memory) const {
  AttentionOutput<T> out;
  // a = softmax over the real positions; c = Σ_s a_s m_s
  out.weights = masked_softmax(scores(tape, query, memory), memory.lengths);
  out.context = weighted_sum(out.weights, memory.values);
  return out;
}

#define TAPENET_INSTANTIATE_ATTENTION(T)                                          \
  template Var<T> batched_dot(Var<T>, Var<T>);                                    \
  template Var<T> weighted_sum(Var<T>, Var<T>);                                   \
  template Var<T> masked_softmax(Var<T>, const std::vector<std::size_t>&);        \
  template class Attention<T>;
TAPENET_INSTANTIATE_ATTENTION(float)
TAPENET_INSTANTIATE_ATTENTION(double)

}  // namespace tapenet
