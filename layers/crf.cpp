#include "layers/crf.hpp"

#include <limits>
#include <string>

#include "layers/init.hpp"

namespace tapenet {

namespace {

// Each example's length from a [T, B] mask, which must be a prefix of ones per column.
template <class T>
std::vector<std::size_t> lengths_of(const Tensor<T>& mask, std::size_t steps, std::size_t batch) {
  if (mask.dimension() != 2 || mask.shape()[0] != steps || mask.shape()[1] != batch)
    throw ShapeError("CRF", "mask " + shape_str(mask.shape()) + " for " + std::to_string(steps) + " steps of " +
                                std::to_string(batch) + " examples");
  std::vector<std::size_t> len(batch, 0);
  for (std::size_t b = 0; b < batch; ++b) {
    while (len[b] < steps && mask(len[b], b) != T(0)) ++len[b];
    for (std::size_t t = len[b]; t < steps; ++t)
      if (mask(t, b) != T(0)) throw std::invalid_argument("CRF: mask column " + std::to_string(b) + " is not a prefix of ones");
    if (steps > 0 && len[b] == 0) throw std::invalid_argument("CRF: example " + std::to_string(b) + " has no real step (mask[0, b] = 0)");
  }
  return len;
}

template <class S>
void check_emissions(const S& shape, std::size_t labels) {
  if (shape.size() != 3 || shape[2] != labels || shape[0] == 0)
    throw ShapeError("CRF", "emissions must be [T,B," + std::to_string(labels) + "] with T > 0, got " + shape_str(shape));
}

template <class T>
Tensor<T> ones_mask(std::size_t steps) {
  return full<T>({steps, 1}, T(1));
}

}  // namespace

template <class T>
CRF<T>::CRF(std::size_t L, std::mt19937_64& rng, double s)
    : transitions(this->add_parameter("transitions", init::uniform<T>({L, L}, s, rng))),
      start(this->add_parameter("start", init::uniform<T>({L}, s, rng))),
      end(this->add_parameter("end", init::uniform<T>({L}, s, rng))) {}

// α_0 = start + E_0;  α_t = mask_t ? logsumexp_i(α_{t-1}[:, i, None] + A)[:, j] + E_t : α_{t-1};
// log Z = logsumexp_j(α + end). A padded step carries α over unchanged.
template <class T>
Var<T> CRF<T>::log_partition(Tape<T>& tape, Var<T> emissions, const Tensor<T>& mask) const {
  const std::size_t L = num_labels();
  check_emissions(emissions.shape(), L);
  const std::size_t steps = emissions.dim(0), B = emissions.dim(1);
  lengths_of(mask, steps, B);
  auto step = [&](std::size_t t) { return reshape(slice(emissions, 0, t, t + 1), {B, L}); };
  Var<T> A = tape.param(transitions);
  Var<T> alpha = add(step(0), tape.param(start));  // [B, L]
  for (std::size_t t = 1; t < steps; ++t) {
    Var<T> next = add(logsumexp(add(reshape(alpha, {B, L, 1}), A), 1), step(t));
    Tensor<T> m = Tensor<T>::from_shape({B, 1});
    for (std::size_t b = 0; b < B; ++b) m(b, 0) = mask(t, b);
    alpha = where(m, next, alpha);
  }
  return logsumexp(add(alpha, tape.param(end)), 1);  // [B]
}

// score_b = start[y_0] + Σ_{t < n_b} E[t, b, y_t] + Σ_{0 < t < n_b} A[y_{t-1}, y_t] + end[y_{n_b - 1}]
template <class T>
Var<T> CRF<T>::score(Tape<T>& tape, Var<T> emissions, const IndexTensor& tags, const Tensor<T>& mask) const {
  const std::size_t L = num_labels();
  check_emissions(emissions.shape(), L);
  const std::size_t steps = emissions.dim(0), B = emissions.dim(1);
  const std::vector<std::size_t> len = lengths_of(mask, steps, B);
  if (tags.dimension() != 2 || tags.shape()[0] != steps || tags.shape()[1] != B)
    throw ShapeError("CRF", "tags " + shape_str(tags.shape()) + " for emissions " + shape_str(emissions.shape()));
  IndexTensor idx = xt::zeros<std::int64_t>({steps, B, std::size_t(1)});  // padded steps read label 0, masked out
  Tensor<T> m = zeros<T>({steps, B, 1});
  std::vector<std::int64_t> first(B), last(B), pairs;
  Tensor<T> pair_mask = zeros<T>({steps > 1 ? steps - 1 : 0, B});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t t = 0; t < len[b]; ++t) {
      const std::int64_t y = tags(t, b);
      if (y < 0 || std::size_t(y) >= L)
        throw std::out_of_range("CRF: tag " + std::to_string(y) + " at step " + std::to_string(t) + " of example " + std::to_string(b) +
                                " out of range for " + std::to_string(L) + " labels");
      idx(t, b, 0) = y;
      m(t, b, 0) = T(1);
    }
  for (std::size_t t = 1; t < steps; ++t)
    for (std::size_t b = 0; b < B; ++b) {
      pairs.push_back(t < len[b] ? idx(t - 1, b, 0) * std::int64_t(L) + idx(t, b, 0) : 0);
      pair_mask(t - 1, b) = t < len[b] ? T(1) : T(0);
    }
  for (std::size_t b = 0; b < B; ++b) {
    first[b] = idx(0, b, 0);
    last[b] = idx(len[b] - 1, b, 0);
  }
  Var<T> emit = reshape(sum(mask_mul(gather(emissions, 2, idx), m), 0), {B});
  Var<T> total = add(emit, add(index_select(tape.param(start), 0, first), index_select(tape.param(end), 0, last)));
  if (steps > 1) {
    Var<T> trans = index_select(reshape(tape.param(transitions), {L * L}), 0, pairs);
    total = add(total, sum(mask_mul(reshape(trans, {steps - 1, B}), pair_mask), 0));
  }
  return total;
}

template <class T>
Var<T> CRF<T>::log_likelihood(Tape<T>& tape, Var<T> emissions, const IndexTensor& tags, const Tensor<T>& mask,
                              Reduction reduction) const {
  Var<T> ll = sum(sub(score(tape, emissions, tags, mask), log_partition(tape, emissions, mask)));
  return reduction == Reduction::Mean ? mul_scalar(ll, T(1) / T(emissions.dim(1))) : ll;
}

template <class T>
Var<T> CRF<T>::neg_log_likelihood(Tape<T>& tape, Var<T> emissions, const IndexTensor& tags, const Tensor<T>& mask,
                                  Reduction reduction) const {
  return neg(log_likelihood(tape, emissions, tags, mask, reduction));
}

template <class T>
Var<T> CRF<T>::log_likelihood(Tape<T>& tape, Var<T> emissions, const std::vector<std::int64_t>& tags) const {
  if (emissions.ndim() != 2 || tags.size() != emissions.dim(0))
    throw ShapeError("CRF", "emissions " + shape_str(emissions.shape()) + " (must be [T,L]) with " + std::to_string(tags.size()) + " tags");
  const std::size_t steps = emissions.dim(0);
  IndexTensor t = IndexTensor::from_shape({steps, 1});
  for (std::size_t i = 0; i < steps; ++i) t(i, 0) = tags[i];
  return log_likelihood(tape, reshape(emissions, {steps, 1, emissions.dim(1)}), t, ones_mask<T>(steps));
}

template <class T>
Var<T> CRF<T>::neg_log_likelihood(Tape<T>& tape, Var<T> emissions, const std::vector<std::int64_t>& tags) const {
  return neg(log_likelihood(tape, emissions, tags));
}

// δ_0 = start + E_0;  δ_t[j] = max_i(δ_{t-1}[i] + A[i, j]) + E_t[j], remembering the arg max;
// the best last label maximises δ + end, and the back pointers give the rest.
template <class T>
std::vector<std::vector<std::int64_t>> CRF<T>::viterbi(const Tensor<T>& E, const Tensor<T>& mask) const {
  const std::size_t L = num_labels();
  check_emissions(E.shape(), L);
  const std::size_t steps = E.shape()[0], B = E.shape()[1];
  const std::vector<std::size_t> len = lengths_of(mask, steps, B);
  const Tensor<T>& A = transitions.value;
  std::vector<std::vector<std::int64_t>> paths(B);
  std::vector<T> delta(L), next(L);
  std::vector<std::size_t> back(steps * L);
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t j = 0; j < L; ++j) delta[j] = start.value(j) + E(0, b, j);
    for (std::size_t t = 1; t < len[b]; ++t) {
      for (std::size_t j = 0; j < L; ++j) {
        std::size_t best = 0;
        for (std::size_t i = 1; i < L; ++i)
          if (delta[i] + A(i, j) > delta[best] + A(best, j)) best = i;
        back[t * L + j] = best;
        next[j] = delta[best] + A(best, j) + E(t, b, j);
      }
      delta.swap(next);
    }
    std::size_t y = 0;
    for (std::size_t j = 1; j < L; ++j)
      if (delta[j] + end.value(j) > delta[y] + end.value(y)) y = j;
    std::vector<std::int64_t>& path = paths[b];
    path.assign(len[b], 0);
    for (std::size_t t = len[b]; t-- > 0;) {
      path[t] = std::int64_t(y);
      if (t > 0) y = back[t * L + y];
    }
  }
  return paths;
}

template <class T>
std::vector<std::int64_t> CRF<T>::viterbi(const Tensor<T>& emissions) const {
  if (emissions.dimension() != 2) throw ShapeError("CRF", "emissions must be [T,L], got " + shape_str(emissions.shape()));
  Tensor<T> e = emissions;
  e.reshape({emissions.shape()[0], std::size_t(1), emissions.shape()[1]});
  return viterbi(e, ones_mask<T>(emissions.shape()[0]))[0];
}

template class CRF<float>;
template class CRF<double>;

}  // namespace tapenet
