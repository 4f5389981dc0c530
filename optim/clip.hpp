/// @file
/// Gradient clipping: free functions any training loop (or Optimizer) can call between
/// backward() and step(). Sums are accumulated in double so a float model with millions
/// of parameters still gets an accurate norm. Instantiated for float and double.
#pragma once

#include <type_traits>

#include "autograd/parameter.hpp"

namespace tapenet {

// The thresholds are std::common_type_t<T> (just T, but not deduced) so that a float model
// can pass a double literal: clip_grad_norm(params, 5.0).

/// The global L2 norm of all gradients, as if they were one long vector:
/// ‖g‖ = sqrt(Σ_p Σ_k g_pk²).
template <class T>
T grad_norm(const ParameterList<T>& params);

/// Rescales all gradients together when their global norm exceeds max_norm (PyTorch's
/// clip_grad_norm_): g *= max_norm / (‖g‖ + 1e-6). Returns the norm before clipping.
/// A NaN/Inf norm is returned as is and the gradients are left untouched, so the caller
/// can see it and skip the step instead of turning every gradient into NaN.
template <class T>
T clip_grad_norm(const ParameterList<T>& params, std::common_type_t<T> max_norm);

/// Clamps every gradient element into [-clip, clip].
template <class T>
void clip_grad_value(const ParameterList<T>& params, std::common_type_t<T> clip);

}  // namespace tapenet
