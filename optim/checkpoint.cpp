#include "optim/checkpoint.hpp"

#include <set>
#include <utility>
#include <vector>

namespace tapenet {

namespace {

const std::string kParamPrefix = "param/";
const std::string kStatePrefix = "state/";

[[noreturn]] void fail(const std::string& path, const std::string& detail) {
  throw CheckpointError("checkpoint '" + path + "': " + detail);
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Names identify parameters in the file, so they must be present and distinct.
template <class T>
void check_parameter_names(const std::string& path, const ParameterList<T>& params) {
  std::set<std::string> seen;
  for (const Parameter<T>* p : params) {
    if (!p) fail(path, "null parameter in the list");
    if (p->name.empty()) fail(path, "a parameter has no name");
    if (!seen.insert(p->name).second) fail(path, "parameter name '" + p->name + "' is used twice");
  }
}

std::string entry_what(const std::string& path, const std::string& entry) {
  return "checkpoint '" + path + "' entry '" + entry + "'";
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const ParameterList<T>& params,
                     const std::map<std::string, Tensor<T>>& extra_state, const CheckpointRecords& records) {
  check_parameter_names(path, params);
  std::vector<std::pair<std::string, std::string>> entries;
  for (const Parameter<T>* p : params) entries.emplace_back(kParamPrefix + p->name, to_npy_bytes(p->value));
  for (const auto& [key, tensor] : extra_state) entries.emplace_back(kStatePrefix + key, to_npy_bytes(tensor));
  const auto add_record = [&](const std::string& kind, const std::string& name, std::string bytes) {
    if (starts_with(name, kParamPrefix) || starts_with(name, kStatePrefix))
      fail(path, kind + " entry '" + name + "' must not use the param/ or state/ prefix");
    entries.emplace_back(name, std::move(bytes));
  };
  for (const auto& [name, values] : records.ints) add_record("int", name, npy_int64(values));
  for (const auto& [name, values] : records.doubles) add_record("double", name, npy_float64(values));
  for (const auto& [name, text] : records.texts) add_record("text", name, npy_text(text));
  write_npz_atomic(path, entries);  // throws on a name used twice
}

template <class T>
void save_checkpoint(const std::string& path, const ParameterList<T>& params,
                     const std::map<std::string, Tensor<T>>& extra_state,
                     const std::map<std::string, std::string>& text_entries) {
  CheckpointRecords records;
  records.texts = text_entries;
  save_checkpoint(path, params, extra_state, records);
}

CheckpointRecords load_checkpoint_records(const std::string& path) {
  const NpzEntries npz(path);
  CheckpointRecords records;
  for (const auto& [name, bytes] : npz.all()) {
    if (starts_with(name, kParamPrefix) || starts_with(name, kStatePrefix)) continue;
    // The dtype and rank decide the type; a corrupt entry of one of these types throws.
    const std::string what = npz_entry_what(path, name);
    const NpyInfo info = npy_info(bytes, what);
    const char kind = info.descr.size() > 1 ? info.descr[1] : '?';
    if (info.shape.size() > 1) continue;
    if ((info.descr == "|u1" || info.descr == "<u1") && info.shape.size() == 1) records.texts[name] = text_from_npy(bytes, what);
    else if (kind == 'i' || kind == 'u' || kind == 'b') records.ints[name] = int64_from_npy(bytes, what);
    else if (kind == 'f') records.doubles[name] = float64_from_npy(bytes, what);
  }
  return records;
}

template <class T>
std::map<std::string, Tensor<T>> load_checkpoint(const std::string& path, const ParameterList<T>& params) {
  check_parameter_names(path, params);
  std::map<std::string, std::string> entries = read_npz_entries(path);

  // Decode and validate everything first: a bad file must leave the model unchanged.
  std::vector<Tensor<T>> values;
  for (const Parameter<T>* p : params) {
    const std::string entry = kParamPrefix + p->name;
    const auto it = entries.find(entry);
    if (it == entries.end()) fail(path, "parameter '" + p->name + "' is missing");
    values.push_back(from_npy_bytes<T>(it->second, entry_what(path, entry)));
    if (values.back().shape() != p->value.shape())
      fail(path, "parameter '" + p->name + "' has shape " + shape_str(values.back().shape()) + " in the file but " +
                     shape_str(p->value.shape()) + " in the model");
    entries.erase(it);
  }
  std::map<std::string, Tensor<T>> state;
  for (const auto& [entry, bytes] : entries) {
    if (starts_with(entry, kParamPrefix))
      fail(path, "holds parameter '" + entry.substr(kParamPrefix.size()) + "' that the model does not have");
    if (starts_with(entry, kStatePrefix))
      state.emplace(entry.substr(kStatePrefix.size()), from_npy_bytes<T>(bytes, entry_what(path, entry)));
  }

  for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = std::move(values[i]);
  return state;
}

#define TAPENET_INSTANTIATE_CHECKPOINT(T)                                                                \
  template void save_checkpoint<T>(const std::string&, const ParameterList<T>&,                          \
                                   const std::map<std::string, Tensor<T>>&,                              \
                                   const std::map<std::string, std::string>&);                           \
  template void save_checkpoint<T>(const std::string&, const ParameterList<T>&,                          \
                                   const std::map<std::string, Tensor<T>>&, const CheckpointRecords&);   \
  template std::map<std::string, Tensor<T>> load_checkpoint<T>(const std::string&, const ParameterList<T>&);

TAPENET_INSTANTIATE_CHECKPOINT(float)
TAPENET_INSTANTIATE_CHECKPOINT(double)
#undef TAPENET_INSTANTIATE_CHECKPOINT

}  // namespace tapenet
