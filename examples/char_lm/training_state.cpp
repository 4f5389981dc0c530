#include "training_state.hpp"

#include <stdexcept>

#include <tapenet/data/text.hpp>
#include <tapenet/optim/checkpoint.hpp>

namespace char_lm {

using tapenet::Tensor;

namespace {

const std::string kCarryPrefix = "char_lm/carry/";

}  // namespace

RunRecord read_saved_run(const std::string& path) {
  return tapenet::examples::read_run_record(path, {"vocab", "curves"});
}

std::string vocabulary_record(const Vocabulary& vocab) { return tapenet::data::encode_utf8(vocab.chars()); }

void check_vocabulary(const RunRecord& saved, const Vocabulary& vocab) {
  const std::u32string chars = tapenet::data::decode_utf8(saved.texts.at("vocab"));
  const auto unk = saved.config.find("unk");
  const bool saved_unk = unk != saved.config.end() && unk->second.as_flag();
  if (chars == vocab.chars() && saved_unk == vocab.has_unk()) return;
  std::string detail;
  for (char32_t c : vocab.chars())
    if (chars.find(c) == std::u32string::npos) { detail = describe_char(c) + " is new"; break; }
  if (detail.empty())
    for (char32_t c : chars)
      if (!vocab.contains(c)) { detail = describe_char(c) + " no longer occurs"; break; }
  if (detail.empty()) detail = "the <unk> entry differs";
  throw std::invalid_argument("the checkpoint's vocabulary (" + std::to_string(chars.size()) +
                              " characters) differs from the one of this text (" +
                              std::to_string(vocab.chars().size()) + "): " + detail +
                              "; resume with the same --data");
}

void save(const std::string& path, const tapenet::ParameterList<float>& params,
          const tapenet::Optimizer<float>& optimizer, const tapenet::EarlyStopping<float>& best,
          const std::vector<StateValues>& carry, const RunRecord& record) {
  std::map<std::string, Tensor<float>> state = optimizer.state_dict();
  best.save(state);
  tapenet::examples::put_carried_states(state, kCarryPrefix, carry);
  tapenet::examples::save_run(path, params, state, record);
}

std::vector<StateValues> restore(const std::string& path, const tapenet::ParameterList<float>& params,
                                 tapenet::Optimizer<float>& optimizer, tapenet::EarlyStopping<float>& best) {
  std::map<std::string, Tensor<float>> all = tapenet::load_checkpoint(path, params);
  best.load(all, "checkpoint '" + path + "'");
  std::vector<StateValues> carry = tapenet::examples::take_carried_states(all, kCarryPrefix);
  std::map<std::string, Tensor<float>> optimizer_state;
  for (auto& [key, t] : all)
    if (!best.owns(key)) optimizer_state[key] = std::move(t);
  optimizer.load_state_dict(optimizer_state);
  return carry;
}

}  // namespace char_lm
