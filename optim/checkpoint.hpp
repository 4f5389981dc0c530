// Training checkpoints as .npz files: parameters under "param/<name>", optimizer and
// trainer state under "state/<key>". numpy reads them: numpy.load(path)["param/W"].
// Saves are atomic; a load validates the whole file before touching any parameter.
#pragma once

#include <map>
#include <string>

#include "io/npz.hpp"
#include "autograd/parameter.hpp"
#include "autograd/tensor.hpp"

namespace tapenet {

// Writes every parameter value and every extra_state entry (e.g. an optimizer's
// state_dict(), or the epoch as a 1-element tensor). Parameter names must be non-empty
// and unique. Throws CheckpointError; on failure the previous file at `path` is intact.
// `text_entries`: records written under their own names (e.g. "run/config"), outside
// "param/" and "state/", as text entries (io/npz.hpp: read them with NpzEntries::text).
template <class T>
void save_checkpoint(const std::string& path, const ParameterList<T>& params,
                     const std::map<std::string, Tensor<T>>& extra_state = {},
                     const std::map<std::string, std::string>& text_entries = {});

// Loads parameter values and returns the "state/..." entries (keys without "state/").
// Every parameter must be in the file with its exact shape, and the file must hold no
// parameter the model lacks; otherwise CheckpointError and the model is left unchanged.
// Entries outside "param/" and "state/" are ignored (room for user metadata).
template <class T>
std::map<std::string, Tensor<T>> load_checkpoint(const std::string& path, const ParameterList<T>& params);

}  // namespace tapenet
