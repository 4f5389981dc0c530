#include "layers/pytorch_import.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace tapenet {

std::string pytorch_parameter_name(const std::string& base, std::size_t layer, bool reverse) {
  return base + "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
}

namespace {

const char* const kOp = "import_pytorch_cell: ";

template <class T>
std::string key_list(const std::map<std::string, Tensor<T>>& entries) {
  std::string s;
  for (const auto& [key, value] : entries) s += (s.empty() ? "'" : ", '") + key + "'";
  return s.empty() ? "none" : s;
}

template <class T>
const Tensor<T>& find_entry(const std::map<std::string, Tensor<T>>& entries, const std::string& key,
                            const std::string& cell) {
  const auto it = entries.find(key);
  if (it == entries.end())
    throw CheckpointError(kOp + std::string("no entry '") + key + "' for " + cell + " (entries: " +
                          key_list(entries) + ")");
  return it->second;
}

// A weight must match exactly; a bias may be PyTorch's vector [G·H] or our row [1, G·H].
template <class T>
bool fits(const Tensor<T>& source, const Parameter<T>& target, bool bias) {
  if (to_shape(source.shape()) == to_shape(target.value.shape())) return true;
  return bias && source.dimension() == 1 && source.size() == target.size();
}

template <class T>
std::string expected_shape(const Parameter<T>& target, bool bias) {
  const std::string row = shape_str(target.value.shape());
  return bias ? "[" + std::to_string(target.size()) + "] (or " + row + ")" : row;
}

// The four tensors of one layer and direction -> W_ih, W_hh, b_ih, b_hh, all checked first.
template <class T>
void import_fused(FusedGateCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer,
                  bool reverse, const std::string& prefix) {
  const std::string projection = prefix + pytorch_parameter_name("weight_hr", layer, reverse);
  if (entries.count(projection))
    throw CheckpointError(kOp + std::string("'") + projection + "' found: LSTMs with proj_size > 0 are not supported");
  struct Item {
    const char* base;
    Parameter<T>& target;
    bool bias;
  };
  const Item items[] = {{"weight_ih", cell.W_ih, false},
                        {"weight_hh", cell.W_hh, false},
                        {"bias_ih", cell.b_ih, true},
                        {"bias_hh", cell.b_hh, true}};
  std::vector<const Tensor<T>*> sources;
  for (const Item& item : items) {
    const std::string key = prefix + pytorch_parameter_name(item.base, layer, reverse);
    const Tensor<T>& source = find_entry(entries, key, cell.cell_name());
    if (!fits(source, item.target, item.bias))
      throw CheckpointError(kOp + std::string("'") + key + "' is " + shape_str(source.shape()) + " but " +
                            cell.cell_name() + "'s " + item.target.name + " needs " +
                            expected_shape(item.target, item.bias));
    sources.push_back(&source);
  }
  for (std::size_t k = 0; k < sources.size(); ++k)
    std::copy(sources[k]->data(), sources[k]->data() + sources[k]->size(), items[k].target.value.data());
}

void reject(bool unsupported, const std::string& why) {
  if (unsupported) throw std::invalid_argument(kOp + why);
}

}  // namespace

template <class T>
void import_pytorch_cell(LSTMCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer,
                         bool reverse, const std::string& prefix) {
  reject(cell.options().peephole, "torch.nn.LSTM has no peephole connections; build the LSTMCell without them");
  reject(cell.options().coupled, "torch.nn.LSTM has separate input and forget gates; build the LSTMCell uncoupled");
  import_fused(cell, entries, layer, reverse, prefix);
}

template <class T>
void import_pytorch_cell(GRUCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer,
                         bool reverse, const std::string& prefix) {
  reject(!cell.options().reset_after,
         "torch.nn.GRU applies the reset gate after the recurrent product; build the GRUCell with reset_after = true");
  import_fused(cell, entries, layer, reverse, prefix);
}

template <class T>
void import_pytorch_cell(ElmanCell<T>& cell, const std::map<std::string, Tensor<T>>& entries, std::size_t layer,
                         bool reverse, const std::string& prefix) {
  const Activation a = cell.options().activation;
  reject(a != Activation::Tanh && a != Activation::Relu,
         std::string("torch.nn.RNN's nonlinearity is tanh or relu, the ElmanCell's is ") + activation_name(a));
  import_fused(cell, entries, layer, reverse, prefix);
}

#define TAPENET_INSTANTIATE_IMPORT(T, Cell)                                                                  \
  template void import_pytorch_cell<T>(Cell<T>&, const std::map<std::string, Tensor<T>>&, std::size_t, bool, \
                                       const std::string&);
TAPENET_INSTANTIATE_IMPORT(float, LSTMCell)
TAPENET_INSTANTIATE_IMPORT(double, LSTMCell)
TAPENET_INSTANTIATE_IMPORT(float, GRUCell)
TAPENET_INSTANTIATE_IMPORT(double, GRUCell)
TAPENET_INSTANTIATE_IMPORT(float, ElmanCell)
TAPENET_INSTANTIATE_IMPORT(double, ElmanCell)
#undef TAPENET_INSTANTIATE_IMPORT

}  // namespace tapenet
