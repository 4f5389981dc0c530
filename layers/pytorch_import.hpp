/// @file
/// Importing torch.nn.RNN / LSTM / GRU weights into tapenet cells.
///
/// Export from PyTorch with numpy (the file loads with load_npz from io/npz.hpp):
/// @code{.unparsed}
///   np.savez("lstm.npz", **{k: v.detach().double().numpy() for k, v in lstm.state_dict().items()})
/// @endcode
/// then
/// @code
///   auto entries = load_npz<double>("lstm.npz");
///   LSTMCell<double> cell(input, hidden, rng);
///   import_pytorch_cell(cell, entries, /*layer=*/0, /*reverse=*/false);
/// @endcode
///
/// Mapping for layer k (suffix "_reverse" on every key for the backward direction of a
/// bidirectional module; `prefix` is prepended to every key, e.g. "encoder.rnn."):
/// @code{.unparsed}
///   weight_ih_l{k} [G·H, D] -> W_ih [G·H, D]
///   weight_hh_l{k} [G·H, H] -> W_hh [G·H, H]
///   bias_ih_l{k}   [G·H]    -> b_ih [1, G·H]   ([1, G·H] is accepted too)
///   bias_hh_l{k}   [G·H]    -> b_hh [1, G·H]
/// @endcode
/// The gate blocks are copied as they are, because the cells use PyTorch's order:
/// @code{.unparsed}
///   LSTM: i, f, g, o (G = 4) — LSTMCell without peephole and without coupled gates;
///         PyTorch's forget bias is whatever was trained (unit_forget_bias only sets the
///         initial value, the import overwrites it).
///   GRU:  r, z, n (G = 3) — GRUCell with reset_after = true, which is torch.nn.GRU's
///         n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)).
///   RNN:  one block (G = 1) — ElmanCell with activation tanh or relu (nonlinearity=).
/// @endcode
/// Layer k > 0 reads the previous layer's output, so its cell has input size H (2H when
/// bidirectional). Modules built with bias=False or proj_size > 0 are not supported.
///
/// Every entry is checked before anything is copied: a missing key or a wrong shape throws
/// CheckpointError naming the key and both shapes, and leaves the cell untouched. A cell
/// whose equations differ from PyTorch's (peephole or coupled LSTM, GRU with
/// reset_after = false, Elman with sigmoid or identity) throws std::invalid_argument.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "io/npz.hpp"
#include "layers/cells.hpp"

namespace tapenet {

template <class T>
void import_pytorch_cell(LSTMCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer = 0,
                         bool reverse = false, const std::string& prefix = "");

template <class T>
void import_pytorch_cell(GRUCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer = 0,
                         bool reverse = false, const std::string& prefix = "");

template <class T>
void import_pytorch_cell(ElmanCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer = 0,
                         bool reverse = false, const std::string& prefix = "");

/// "weight_ih_l0_reverse": PyTorch's name of one of a layer's tensors
/// (base is weight_ih, weight_hh, bias_ih or bias_hh).
std::string pytorch_parameter_name(const std::string& base, std::size_t layer, bool reverse);

}  // namespace tapenet
