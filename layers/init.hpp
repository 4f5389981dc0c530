/// @file
/// Parameter initialisers. All take the generator explicitly so models are reproducible.
#pragma once

#include <random>

#include "autograd/tensor.hpp"

namespace tapenet::init {

/// U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010). For a
/// [rows, cols] matrix fan_out = rows, fan_in = cols; 3-D tensors use their last two axes.
template <class T>
Tensor<T> glorot_uniform(const Shape& shape, std::mt19937_64& rng, double gain = 1.0);

/// U(-a, a).
template <class T>
Tensor<T> uniform(const Shape& shape, double a, std::mt19937_64& rng);

/// N(0, std²).
template <class T>
Tensor<T> normal(const Shape& shape, double std, std::mt19937_64& rng);

/// A [rows, cols] matrix with orthonormal rows or columns (Saxe et al. 2014), from the QR
/// decomposition of a Gaussian matrix with the signs fixed so the result is uniform.
template <class T>
Tensor<T> orthogonal(std::size_t rows, std::size_t cols, std::mt19937_64& rng, double gain = 1.0);

/// [d, blocks·d]: `blocks` identity matrices side by side plus U(±r) noise, r = 1/(2√d)
/// (computed in T), drawn row by row. Stanford CoreNLP's RNTN initialises its composition
/// W [d, 2d] so, so that a parent starts as roughly the sum of its children.
template <class T>
Tensor<T> identity_blocks(std::size_t d, std::size_t blocks, std::mt19937_64& rng);

}  // namespace tapenet::init
