#include "training_state.hpp"

#include <stdexcept>

#include "io/npz.hpp"
#include "optim/checkpoint.hpp"

namespace char_lm {

using tapenet::Tensor;

namespace {

const std::string kPrefix = "char_lm/";

Tensor<float> scalar(double v) { return tapenet::full<float>({1}, static_cast<float>(v)); }

}  // namespace

// ---- checkpoint ------------------------------------------------------------------------------

SavedRun read_saved_run(const std::string& path) {
  const std::map<std::string, Tensor<float>> entries = tapenet::load_npz<float>(path);
  SavedRun run;
  run.settings = tapenet::examples::read_settings(entries, "state/" + kPrefix + "setting/");
  auto vocab = entries.find("state/" + kPrefix + "vocab");
  auto unk = entries.find("state/" + kPrefix + "unk");
  if (vocab == entries.end() || unk == entries.end())
    throw std::invalid_argument("checkpoint '" + path + "' holds no char_lm vocabulary: not a char_lm checkpoint");
  for (float c : vocab->second) run.vocab += static_cast<char32_t>(c);
  run.unk = unk->second(0) != 0;
  return run;
}

void check_vocabulary(const SavedRun& saved, const Vocabulary& vocab) {
  if (saved.vocab == vocab.chars() && saved.unk == vocab.has_unk()) return;
  std::string detail;
  for (char32_t c : vocab.chars())
    if (saved.vocab.find(c) == std::u32string::npos) { detail = describe_char(c) + " is new"; break; }
  if (detail.empty())
    for (char32_t c : saved.vocab)
      if (!vocab.contains(c)) { detail = describe_char(c) + " no longer occurs"; break; }
  if (detail.empty()) detail = "the <unk> entry differs";
  throw std::invalid_argument("the checkpoint's vocabulary (" + std::to_string(saved.vocab.size()) +
                              " characters) differs from the one of this text (" +
                              std::to_string(vocab.chars().size()) + "): " + detail +
                              "; resume with the same --data");
}

void save(const std::string& path, const tapenet::ParameterList<float>& params,
          const tapenet::Optimizer<float>& optimizer, const TrainingState& state,
          const std::map<std::string, double>& settings, const Vocabulary& vocab) {
  std::map<std::string, Tensor<float>> extra = optimizer.state_dict();
  extra[kPrefix + "step"] = scalar(double(state.step));
  extra[kPrefix + "best_val"] = scalar(state.best_val);
  for (std::size_t k = 0; k < state.carry.size(); ++k) {
    extra[kPrefix + "carry/" + std::to_string(k) + "/h"] = state.carry[k].h;
    if (state.carry[k].has_c) extra[kPrefix + "carry/" + std::to_string(k) + "/c"] = state.carry[k].c;
  }
  Tensor<float> chars = tapenet::zeros<float>({vocab.chars().size()});
  for (std::size_t i = 0; i < vocab.chars().size(); ++i) chars(i) = static_cast<float>(vocab.chars()[i]);
  extra[kPrefix + "vocab"] = chars;
  extra[kPrefix + "unk"] = scalar(vocab.has_unk() ? 1 : 0);
  tapenet::examples::write_settings(settings, kPrefix + "setting/", extra);
  tapenet::save_checkpoint(path, params, extra);
}

TrainingState restore(const std::string& path, const tapenet::ParameterList<float>& params,
                      tapenet::Optimizer<float>& optimizer) {
  std::map<std::string, Tensor<float>> all = tapenet::load_checkpoint(path, params);
  std::map<std::string, Tensor<float>> ours, optimizer_state;
  for (auto& [key, t] : all) (key.rfind(kPrefix, 0) == 0 ? ours : optimizer_state)[key] = std::move(t);
  optimizer.load_state_dict(optimizer_state);
  TrainingState state;
  auto get = [&](const std::string& key) -> const Tensor<float>& {
    auto it = ours.find(kPrefix + key);
    if (it == ours.end()) throw std::invalid_argument("checkpoint '" + path + "' lacks state/" + kPrefix + key);
    return it->second;
  };
  state.step = static_cast<std::size_t>(get("step")(0));
  state.best_val = get("best_val")(0);
  for (std::size_t k = 0; ours.count(kPrefix + "carry/" + std::to_string(k) + "/h"); ++k) {
    StateValues v;
    v.h = get("carry/" + std::to_string(k) + "/h");
    v.has_c = ours.count(kPrefix + "carry/" + std::to_string(k) + "/c") > 0;
    if (v.has_c) v.c = get("carry/" + std::to_string(k) + "/c");
    state.carry.push_back(std::move(v));
  }
  return state;
}

}  // namespace char_lm
