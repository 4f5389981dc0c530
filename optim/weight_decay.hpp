/// @file
/// Coupled L2 weight decay: the gradient of the penalty (λ/2)·‖θ‖² added to p.grad, as
/// torch.optim's weight_decay and Stanford CoreNLP's per-class regularisation do. The
/// optimizers apply it per parameter group (ParamGroup::weight_decay, optim/optimizer.hpp);
/// these are the two loops they use, for a training loop that adds the penalty itself.
/// Instantiated for float and double.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/parameter.hpp"

namespace tapenet {

/// p.grad += λ·p.value for every p. Returns the penalty Σ_p (λ/2)·‖p‖² (at the values
/// before any update), for reporting the regularised objective. λ = 0 touches nothing.
template <class T>
T add_l2(const ParameterList<T>& params, T lambda);

/// The same on the rows `rows` of a table [n, ...] (an embedding) only, each listed row
/// once however often it is listed: CoreNLP regularises only the word vectors a minibatch
/// uses. Throws std::out_of_range naming the row before changing anything.
template <class T>
T add_l2_rows(Parameter<T>& table, T lambda, const std::vector<std::int64_t>& rows);

}  // namespace tapenet
