// Connectionist temporal classification (Graves et al. 2006, "Connectionist Temporal
// Classification: Labelling Unsegmented Sequence Data with Recurrent Neural Networks").
//
// For a target l of S labels, the extended target l' puts a blank before, between and after
// the labels (2S + 1 symbols). A path π of T frames collapses to l when removing repeats and
// then blanks gives l; p(l | x) = Σ_{π → l} Π_t y_t(π_t). Over l' in log space:
//   α_t(s) = y_t(l'_s) · (α_{t-1}(s) + α_{t-1}(s-1) + [l'_s ≠ blank, l'_s ≠ l'_{s-2}] α_{t-1}(s-2))
//   β_t(s) = y_t(l'_s) · (β_{t+1}(s) + β_{t+1}(s+1) + [l'_s ≠ blank, l'_s ≠ l'_{s+2}] β_{t+1}(s+2))
//   p(l | x) = α_{T-1}(2S) + α_{T-1}(2S-1)
// Both α and β include y_t(l'_s), so Σ_{s: l'_s = c} α_t(s) β_t(s) / y_t(c) is the total
// probability of the paths through class c at frame t, and with lp = log y:
//   ∂(-log p) / ∂lp_t(c) = -exp(logsumexp_{s: l'_s = c}(α_t(s) + β_t(s)) - lp_t(c) - log p)
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

namespace {

// log(eᵃ + eᵇ), exact for -inf operands.
template <class T>
T log_add(T a, T b) {
  if (a == -std::numeric_limits<T>::infinity()) return b;
  if (b == -std::numeric_limits<T>::infinity()) return a;
  return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
}

// One example: -log p(l | x) and, when `grad` is given, grad[t*stride + c] += scale ∂/∂lp_t(c).
// lp(t, c) reads log_probs of this example.
template <class T, class LP>
T ctc_example(LP lp, std::size_t frames, const std::vector<std::int64_t>& target, std::int64_t blank, T* grad,
              std::size_t stride, T scale, bool zero_infinity) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  const std::size_t S = target.size(), L = 2 * S + 1;
  if (frames == 0) return S == 0 ? T(0) : (zero_infinity ? T(0) : std::numeric_limits<T>::infinity());
  auto ext = [&](std::size_t s) { return s % 2 == 0 ? blank : target[s / 2]; };
  // l'_s may follow l'_{s-2} directly: a label other than the one two places back.
  auto skip = [&](std::size_t s) { return s >= 2 && ext(s) != blank && ext(s) != ext(s - 2); };
  std::vector<T> alpha(frames * L, kNegInf), beta(frames * L, kNegInf);
  alpha[0] = lp(0, blank);
  if (L > 1) alpha[1] = lp(0, ext(1));
  for (std::size_t t = 1; t < frames; ++t)
    for (std::size_t s = 0; s < L; ++s) {
      T a = alpha[(t - 1) * L + s];
      if (s >= 1) a = log_add(a, alpha[(t - 1) * L + s - 1]);
      if (skip(s)) a = log_add(a, alpha[(t - 1) * L + s - 2]);
      alpha[t * L + s] = a == kNegInf ? kNegInf : a + lp(t, ext(s));
    }
  const std::size_t last = (frames - 1) * L;
  const T log_p = log_add(alpha[last + L - 1], L > 1 ? alpha[last + L - 2] : kNegInf);
  if (log_p == kNegInf && zero_infinity) return T(0);
  if (!grad) return -log_p;
  beta[last + L - 1] = lp(frames - 1, blank);
  if (L > 1) beta[last + L - 2] = lp(frames - 1, ext(L - 2));
  for (std::size_t t = frames - 1; t-- > 0;)
    for (std::size_t s = 0; s < L; ++s) {
      T b = beta[(t + 1) * L + s];
      if (s + 1 < L) b = log_add(b, beta[(t + 1) * L + s + 1]);
      if (s + 2 < L && skip(s + 2)) b = log_add(b, beta[(t + 1) * L + s + 2]);
      beta[t * L + s] = b == kNegInf ? kNegInf : b + lp(t, ext(s));
    }
  // Per frame, logsumexp of α + β over the positions of each class (blank and the labels).
  std::vector<std::int64_t> classes{blank};
  for (std::int64_t c : target) classes.push_back(c);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  for (std::size_t t = 0; t < frames; ++t)
    for (std::int64_t c : classes) {
      T acc = kNegInf;
      for (std::size_t s = 0; s < L; ++s)
        if (ext(s) == c) acc = log_add(acc, alpha[t * L + s] + beta[t * L + s]);
      if (acc == kNegInf) continue;  // no path through c at t
      grad[t * stride + static_cast<std::size_t>(c)] -= scale * std::exp(acc - lp(t, c) - log_p);
    }
  return -log_p;
}

}  // namespace

// L = Σ_n w_n (-log p(l_n | x_n)), w_n = 1 (Sum) or 1 / (N max(S_n, 1)) (Mean);
// dlp = g Σ_n w_n ∂(-log p_n)/∂lp, computed with the forward (it needs α and β).
template <class T>
Var<T> ctc_loss(Var<T> log_probs, const std::vector<std::vector<std::int64_t>>& targets,
                const std::vector<std::int64_t>& input_lengths, const CTCOptions& opt) {
  const char* op = "ctc_loss";
  const Tensor<T>& X = log_probs.value();
  if (X.dimension() != 3) throw ShapeError(op, "log_probs must be [T,N,C], got " + shape_str(X.shape()));
  const std::size_t T_ = X.shape()[0], N = X.shape()[1], C = X.shape()[2];
  if (targets.size() != N || input_lengths.size() != N)
    throw ShapeError(op, "log_probs " + shape_str(X.shape()) + " with " + std::to_string(targets.size()) + " targets and " +
                             std::to_string(input_lengths.size()) + " input lengths");
  if (opt.blank < 0 || static_cast<std::size_t>(opt.blank) >= C)
    throw std::out_of_range("ctc_loss: blank " + std::to_string(opt.blank) + " out of range for " + std::to_string(C) + " classes");
  for (std::size_t n = 0; n < N; ++n) {
    if (input_lengths[n] < 0 || static_cast<std::size_t>(input_lengths[n]) > T_)
      throw ShapeError(op, "input length " + std::to_string(input_lengths[n]) + " of example " + std::to_string(n) +
                               " for log_probs " + shape_str(X.shape()));
    for (std::int64_t c : targets[n])
      if (c < 0 || static_cast<std::size_t>(c) >= C || c == opt.blank)
        throw std::out_of_range("ctc_loss: target label " + std::to_string(c) + " of example " + std::to_string(n) +
                                " is the blank or out of range for " + std::to_string(C) + " classes");
  }
  const bool want_grad = grad_enabled() && log_probs.requires_grad();
  Tensor<T> grad;
  if (want_grad) grad = zeros<T>(to_shape(X.shape()));
  T loss = 0;
  for (std::size_t n = 0; n < N; ++n) {
    const T w = opt.reduction == Reduction::Mean ? T(1) / (T(N) * T(std::max<std::size_t>(targets[n].size(), 1))) : T(1);
    auto lp = [&X, n, N, C](std::size_t t, std::int64_t c) { return X.data()[(t * N + n) * C + static_cast<std::size_t>(c)]; };
    loss += w * ctc_example(lp, static_cast<std::size_t>(input_lengths[n]), targets[n], opt.blank,
                            want_grad ? grad.data() + n * C : nullptr, N * C, w, opt.zero_infinity);
  }
  auto il = log_probs.id();
  return log_probs.tape().record(op, full<T>({1}, loss), {log_probs}, [il, grad = std::move(grad)](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(il, grad * g.data()[0]);
  });
}

template <class T>
Var<T> ctc_loss(Var<T> log_probs, const std::vector<std::int64_t>& concatenated, const std::vector<std::int64_t>& input_lengths,
                const std::vector<std::int64_t>& target_lengths, const CTCOptions& opt) {
  std::vector<std::vector<std::int64_t>> targets;
  std::size_t at = 0;
  for (std::int64_t n : target_lengths) {
    if (n < 0 || at + static_cast<std::size_t>(n) > concatenated.size())
      throw ShapeError("ctc_loss", "target lengths do not split " + std::to_string(concatenated.size()) + " concatenated labels");
    targets.emplace_back(concatenated.begin() + static_cast<std::ptrdiff_t>(at), concatenated.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += static_cast<std::size_t>(n);
  }
  if (at != concatenated.size())
    throw ShapeError("ctc_loss", "target lengths sum to " + std::to_string(at) + " for " + std::to_string(concatenated.size()) +
                                     " concatenated labels");
  return ctc_loss(log_probs, targets, input_lengths, opt);
}

#define TAPENET_INSTANTIATE_CTC(T)                                                                      \
  template Var<T> ctc_loss(Var<T>, const std::vector<std::vector<std::int64_t>>&, const std::vector<std::int64_t>&, \
                           const CTCOptions&);                                                                     \
  template Var<T> ctc_loss(Var<T>, const std::vector<std::int64_t>&, const std::vector<std::int64_t>&,                 \
                           const std::vector<std::int64_t>&, const CTCOptions&);
TAPENET_INSTANTIATE_CTC(float)
TAPENET_INSTANTIATE_CTC(double)

}  // namespace tapenet
