/// @file
/// Training checkpoints as .npz files: parameters under "param/<name>", optimizer and
/// trainer state under "state/<key>". numpy reads them: numpy.load(path)["param/W"].
/// Saves are atomic; a load validates the whole file before touching any parameter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/npz.hpp"
#include "autograd/parameter.hpp"
#include "autograd/tensor.hpp"

namespace tapenet {

/// Writes every parameter value and every extra_state entry (e.g. an optimizer's
/// state_dict(), or the epoch as a 1-element tensor). Parameter names must be non-empty
/// and unique. Throws CheckpointError; on failure the previous file at `path` is intact.
/// `text_entries`: records written under their own names (e.g. "run/config"), outside
/// "param/" and "state/", as text entries (io/npz.hpp: read them with NpzEntries::text).
template <class T>
void save_checkpoint(const std::string& path, const ParameterList<T>& params,
                     const std::map<std::string, Tensor<T>>& extra_state = {},
                     const std::map<std::string, std::string>& text_entries = {});

/// Typed records kept beside the tensors, each in an entry numpy reads as its own type:
/// @code{.unparsed}
///   ints     '<i8' arrays   numpy: f["run/step"] -> array([42])
///   doubles  '<f8' arrays   numpy: f["run/lr"]   -> array([0.001])
///   texts    '|u1' arrays   numpy: bytes(f["run/config"]).decode()
/// @endcode
/// Names must not use the param/ or state/ prefix, nor appear twice across the three maps.
struct CheckpointRecords {
  std::map<std::string, std::vector<std::int64_t>> ints;
  std::map<std::string, std::vector<double>> doubles;
  std::map<std::string, std::string> texts;
};

template <class T>
void save_checkpoint(const std::string& path, const ParameterList<T>& params,
                     const std::map<std::string, Tensor<T>>& extra_state, const CheckpointRecords& records);

/// The records of a checkpoint written with the overload above: every entry outside param/
/// and state/ sorted by its dtype (1-D '|u1' -> texts, other integer or bool arrays of rank
/// 0 or 1 -> ints, float ones -> doubles); other entries are skipped. Throws CheckpointError.
CheckpointRecords load_checkpoint_records(const std::string& path);

/// Loads parameter values and returns the "state/..." entries (keys without "state/").
/// Every parameter must be in the file with its exact shape, and the file must hold no
/// parameter the model lacks; otherwise CheckpointError and the model is left unchanged.
/// Entries outside "param/" and "state/" are ignored (room for user metadata).
template <class T>
std::map<std::string, Tensor<T>> load_checkpoint(const std::string& path, const ParameterList<T>& params);

}  // namespace tapenet
