/// @file
/// Differentiable ops. Each is a free function that checks shapes, computes its value and
/// records a closure for its backward; the two halves sit side by side in ops_*.cpp.
/// All are instantiated for float and double.
#pragma once

#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "autograd/tape.hpp"

namespace tapenet {

// ---- elementwise arithmetic with numpy broadcasting (ops_arith.cpp) ----------
template <class T> Var<T> add(Var<T> a, Var<T> b);
template <class T> Var<T> sub(Var<T> a, Var<T> b);
template <class T> Var<T> mul(Var<T> a, Var<T> b);
template <class T> Var<T> div(Var<T> a, Var<T> b);
template <class T> Var<T> neg(Var<T> a);
template <class T> Var<T> add_scalar(Var<T> a, T s);
template <class T> Var<T> mul_scalar(Var<T> a, T s);
/// a * mask for a constant mask (no gradient to the mask), broadcast like mul.
template <class T> Var<T> mask_mul(Var<T> a, const Tensor<T>& mask);
/// Elementwise max / min of a and b, broadcast like add. At a tie the gradient goes to a
/// (the first argument), as a subgradient; b receives nothing there.
template <class T> Var<T> maximum(Var<T> a, Var<T> b);
template <class T> Var<T> minimum(Var<T> a, Var<T> b);
/// mask ? a : b elementwise for a constant mask (nonzero takes a); the three broadcast together.
/// Each side receives the gradient of the entries it supplied.
template <class T> Var<T> where(const Tensor<T>& mask, Var<T> a, Var<T> b);
/// The same for a non-const or temporary mask: without it, argument-dependent lookup would
/// pick xt::where, whose forwarding references bind such a mask better.
template <class M, class T,
          std::enable_if_t<std::is_same_v<std::decay_t<M>, Tensor<T>> && !std::is_same_v<M, const Tensor<T>&>, int> = 0>
Var<T> where(M&& mask, Var<T> a, Var<T> b) {
  const Tensor<T>& m = mask;
  return where<T>(m, a, b);
}

template <class T> Var<T> operator+(Var<T> a, Var<T> b) { return add(a, b); }
template <class T> Var<T> operator-(Var<T> a, Var<T> b) { return sub(a, b); }
template <class T> Var<T> operator*(Var<T> a, Var<T> b) { return mul(a, b); }
template <class T> Var<T> operator/(Var<T> a, Var<T> b) { return div(a, b); }
template <class T> Var<T> operator-(Var<T> a) { return neg(a); }
template <class T> Var<T> operator+(Var<T> a, T s) { return add_scalar(a, s); }
template <class T> Var<T> operator+(T s, Var<T> a) { return add_scalar(a, s); }
template <class T> Var<T> operator-(Var<T> a, T s) { return add_scalar(a, -s); }
template <class T> Var<T> operator-(T s, Var<T> a) { return add_scalar(neg(a), s); }
template <class T> Var<T> operator*(Var<T> a, T s) { return mul_scalar(a, s); }
template <class T> Var<T> operator*(T s, Var<T> a) { return mul_scalar(a, s); }
template <class T> Var<T> operator/(Var<T> a, T s) { return mul_scalar(a, T(1) / s); }

// ---- elementwise functions (ops_unary.cpp) -----------------------------------
template <class T> Var<T> exp(Var<T> x);
template <class T> Var<T> log(Var<T> x);
template <class T> Var<T> tanh(Var<T> x);
template <class T> Var<T> sigmoid(Var<T> x);
template <class T> Var<T> relu(Var<T> x);
template <class T> Var<T> square(Var<T> x);
template <class T> Var<T> pow(Var<T> x, T exponent);
template <class T> Var<T> sqrt(Var<T> x);
template <class T> Var<T> clamp(Var<T> x, T lo, T hi);  ///< gradient 0 outside [lo, hi]
template <class T> Var<T> abs(Var<T> x);  ///< gradient sign(x), 0 at x = 0 (as torch)
template <class T> Var<T> softplus(Var<T> x);     ///< log(1 + eˣ), computed as max(x,0) + log1p(e^{-|x|})
template <class T> Var<T> log_sigmoid(Var<T> x);  ///< log σ(x) = min(x,0) - log1p(e^{-|x|})
template <class T> Var<T> leaky_relu(Var<T> x, T negative_slope = T(0.01));  ///< slope below 0 (and at 0)
template <class T> Var<T> elu(Var<T> x, T alpha = T(1));  ///< x > 0 ? x : α (eˣ - 1)
template <class T> Var<T> gelu(Var<T> x);  ///< x Φ(x) = x (1 + erf(x/√2)) / 2, the exact (erf) form

// ---- linear algebra (ops_linalg.cpp) -------------------------------------------
/// 2-D product op(a) · op(b) through BLAS gemm; the flags transpose without copying.
template <class T> Var<T> matmul(Var<T> a, Var<T> b, bool transpose_a = false, bool transpose_b = false);
template <class T> Var<T> transpose(Var<T> x);  ///< 2-D, materialised
/// y = x Wᵀ + b for x [N, D], W [M, D], b [1, M]: matmul and bias in one node (the bias is
/// written before the GEMM, which then accumulates with beta = 1; backward: db = column
/// sums of g, no copy of g). Defined in ops_rnn.cpp beside the fused recurrent ops.
template <class T> Var<T> linear(Var<T> x, Var<T> W, Var<T> b);
/// Bilinear tensor product (RNTN): x [B,n], V [K,n,m], y [B,m] -> out [B,K],
/// out[b,k] = x_bᵀ V_k y_b. Pass the same Var as x and y for xᵀ V x.
template <class T> Var<T> bilinear(Var<T> x, Var<T> V, Var<T> y);
/// Batched product: a [B,M,K] x b [B,K,N] -> [B,M,N], one gemm per batch (torch.bmm); the
/// flags transpose each matrix of a batch (a [B,K,M], b [B,N,K]) without copying.
template <class T> Var<T> bmm(Var<T> a, Var<T> b, bool transpose_a = false, bool transpose_b = false);

// ---- shapes (ops_shape.cpp) ------------------------------------------------------
template <class T> Var<T> reshape(Var<T> x, const Shape& shape);
template <class T> Var<T> concat(const std::vector<Var<T>>& xs, std::size_t axis);
template <class T> Var<T> slice(Var<T> x, std::size_t axis, std::size_t begin, std::size_t end);
template <class T> std::vector<Var<T>> split(Var<T> x, std::size_t axis, const std::vector<std::size_t>& sizes);
/// Rows of a [V,D] table (embedding lookup) -> [N,D]; backward scatter-adds.
template <class T> Var<T> gather_rows(Var<T> table, const std::vector<std::int64_t>& rows);
/// Integer index tensors (gather's index); like torch's LongTensor.
using IndexTensor = xt::xarray<std::int64_t>;
/// Equal shapes joined along a new axis (0 <= axis <= rank): N x [d...] -> [.., N, ..].
template <class T> Var<T> stack(const std::vector<Var<T>>& xs, std::size_t axis);
/// x repeated along axes of size 1 and new leading axes (numpy rules); backward sums them.
template <class T> Var<T> broadcast_to(Var<T> x, const Shape& shape);
/// `before` and `after` entries of `value` added on each side of `axis`; backward slices.
template <class T> Var<T> pad(Var<T> x, std::size_t axis, std::size_t before, std::size_t after, T value = T(0));
/// Entries indices[j] along axis (torch.index_select); backward scatter-adds, so repeated
/// indices accumulate. Indices out of range throw std::out_of_range.
template <class T> Var<T> index_select(Var<T> x, std::size_t axis, const std::vector<std::int64_t>& indices);
/// torch.gather: index has x's rank and index.shape[d] <= x.shape[d] for d != axis;
/// y[i..] = x[i.. with i_axis replaced by index[i..]]; backward scatter-adds.
template <class T> Var<T> gather(Var<T> x, std::size_t axis, const IndexTensor& index);

// ---- reductions (ops_reduce.cpp) ---------------------------------------------------
template <class T> Var<T> sum(Var<T> x);  ///< -> shape [1]
template <class T> Var<T> sum(Var<T> x, std::size_t axis, bool keepdims = false);
template <class T> Var<T> mean(Var<T> x);
template <class T> Var<T> mean(Var<T> x, std::size_t axis, bool keepdims = false);
template <class T> Var<T> softmax(Var<T> x, std::size_t axis);
template <class T> Var<T> log_softmax(Var<T> x, std::size_t axis);
/// Max / min over all entries (-> [1]) or along an axis. The gradient goes to the FIRST
/// maximal (minimal) entry in row-major order of each lane only, like torch.max(x, dim)'s
/// index; later tied entries get none. NaNs are not treated specially.
template <class T> Var<T> max(Var<T> x);
template <class T> Var<T> max(Var<T> x, std::size_t axis, bool keepdims = false);
template <class T> Var<T> min(Var<T> x);
template <class T> Var<T> min(Var<T> x, std::size_t axis, bool keepdims = false);
/// log Σ eˣ, shifted by the maximum (stable; a lane of all -inf gives -inf, gradient 0).
template <class T> Var<T> logsumexp(Var<T> x);
template <class T> Var<T> logsumexp(Var<T> x, std::size_t axis, bool keepdims = false);
/// Running sum along axis (torch.cumsum); backward is the reversed running sum of g.
template <class T> Var<T> cumsum(Var<T> x, std::size_t axis);
/// Index of the first maximal / minimal entry of each lane, in row-major order of the
/// reduced shape (x's shape without `axis`). No gradient; reads the value only.
template <class T> std::vector<std::int64_t> argmax(Var<T> x, std::size_t axis);
template <class T> std::vector<std::int64_t> argmin(Var<T> x, std::size_t axis);

// ---- losses (ops_loss.cpp; ctc_loss in ops_ctc.cpp) -----------------------------------------------------------
enum class Reduction { Mean, Sum };
template <class T>
struct ClassLossOptions {
  std::int64_t ignore_index = -100;  ///< targets equal to this add nothing
  const Tensor<T>* weights = nullptr;  ///< optional per-row mask/weight [N]
  Reduction reduction = Reduction::Mean;  ///< Mean divides by the total weight of counted rows
};
/// logits [N,C], integer targets -> [1]; fused log_softmax + NLL for stability.
template <class T> Var<T> cross_entropy(Var<T> logits, const std::vector<std::int64_t>& targets,
                                        const ClassLossOptions<T>& options = {});
/// log-probabilities [N,C] -> -mean/sum of the target entries.
template <class T> Var<T> nll(Var<T> log_probs, const std::vector<std::int64_t>& targets,
                              const ClassLossOptions<T>& options = {});
template <class T> Var<T> mse(Var<T> prediction, Var<T> target);  ///< mean of squared error
// The losses below take prediction and target of one shape and reduce over every element
// (Mean: divide by their count, as torch's reduction='mean'); both sides receive gradients.
/// |p - y|; gradient sign(p - y), 0 at a tie.
template <class T> Var<T> l1_loss(Var<T> prediction, Var<T> target, Reduction reduction = Reduction::Mean);
/// Huber-like: 0.5 d² / β for |d| < β, else |d| - β/2 (torch.nn.SmoothL1Loss); β = 0 is l1_loss.
template <class T> Var<T> smooth_l1_loss(Var<T> prediction, Var<T> target, T beta = T(1),
                                         Reduction reduction = Reduction::Mean);
// w (max(x,0) - x y + log1p(e^{-|x|})) = -w (y log σ(x) + (1-y) log(1-σ(x))), stable for any x.
// `weights` (optional) broadcasts to logits' shape, as torch's weight argument.
// (T is deduced from the Vars only, so a literal nullptr is accepted for `weights`.)
namespace detail {
template <class T> struct Undeduced { using type = T; };
}  // namespace detail
template <class T> Var<T> binary_cross_entropy_with_logits(Var<T> logits, Var<T> targets,
                                                           const typename detail::Undeduced<Tensor<T>>::type* weights = nullptr,
                                                           Reduction reduction = Reduction::Mean);
/// torch.nn.functional.kl_div(log_input, target): target (probabilities) times
/// (log target - log_input), 0 where target = 0. Mean divides by the element count (torch's
/// 'mean'); torch's 'batchmean' is Sum scaled by 1/batch.
template <class T> Var<T> kl_div(Var<T> log_input, Var<T> target, Reduction reduction = Reduction::Mean);
/// Connectionist temporal classification (Graves et al. 2006), as torch.nn.CTCLoss.
struct CTCOptions {
  std::int64_t blank = 0;
  Reduction reduction = Reduction::Mean;  ///< Mean: mean over the batch of loss_n / max(|target_n|, 1)
  bool zero_infinity = false;             ///< impossible alignments give loss 0 and gradient 0
};
/// log_probs [T,N,C] (log-softmaxed over C), targets[n] the labels of example n (its length is
/// the target length; no blanks), input_lengths[n] <= T. Log-space forward-backward; the
/// gradient is the exact derivative with respect to log_probs (torch instead returns the
/// derivative with respect to the logits under log_softmax; the two agree after log_softmax's
/// backward). Without zero_infinity an impossible alignment gives loss inf and NaN gradient.
template <class T> Var<T> ctc_loss(Var<T> log_probs, const std::vector<std::vector<std::int64_t>>& targets,
                                   const std::vector<std::int64_t>& input_lengths, const CTCOptions& options = {});
/// torch's layout of the targets: all examples' labels concatenated, split by target_lengths.
template <class T> Var<T> ctc_loss(Var<T> log_probs, const std::vector<std::int64_t>& concatenated_targets,
                                   const std::vector<std::int64_t>& input_lengths,
                                   const std::vector<std::int64_t>& target_lengths, const CTCOptions& options = {});

// ---- normalisation (ops_norm.cpp) --------------------------------------------------------
/// Over the last axis of x [..., D]: (x - mean) / sqrt(var + eps) * gain + bias, var biased,
/// gain and bias [D] (torch.nn.functional.layer_norm). One node; backward reuses x̂ and 1/σ.
template <class T> Var<T> layer_norm(Var<T> x, Var<T> gain, Var<T> bias, T eps = T(1e-5));
/// a·b / sqrt(max(|a|² |b|², eps²)) along axis, a and b broadcast together (torch 1.13's
/// cosine_similarity); composed of existing ops.
template <class T> Var<T> cosine_similarity(Var<T> a, Var<T> b, std::size_t axis = 1, T eps = T(1e-8));

// ---- regularisation (ops_unary.cpp) ------------------------------------------------------
/// Inverted dropout: in training zero each element with probability p and scale by 1/(1-p);
/// identity in evaluation.
template <class T> Var<T> dropout(Var<T> x, T p, bool training, std::mt19937_64& rng);

}  // namespace tapenet
