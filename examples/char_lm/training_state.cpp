#include "training_state.hpp"

#include <algorithm>
#include <stdexcept>

#include "autograd/npy.hpp"
#include "optim/checkpoint.hpp"

namespace char_lm {

using tapenet::Tensor;

namespace {

const std::string kPrefix = "char_lm/";

Tensor<float> scalar(double v) { return tapenet::full<float>({1}, static_cast<float>(v)); }

// A double as three floats (24 + 24 + 24 bits of mantissa): hi + mid + lo, summed in
// double, gives the value back exactly.
Tensor<float> split_double(double v) {
  Tensor<float> t = tapenet::zeros<float>({3});
  double rest = v;
  for (std::size_t i = 0; i < 3; ++i) {
    t(i) = static_cast<float>(rest);
    rest -= double(t(i));
  }
  return t;
}

double join_double(const Tensor<float>& t) {
  double v = 0;
  for (float part : t) v += double(part);
  return v;
}

std::string show_number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

// ---- settings -------------------------------------------------------------------------------

double Settings::resolve(const std::string& key, double from_args, const std::string& shown,
                         const std::vector<std::string>* names) {
  if (saved_) {
    auto it = saved_->find(key);
    if (it == saved_->end()) throw std::invalid_argument("the checkpoint has no setting '" + key + "'");
    if (args_.has(key) && it->second != from_args) {
      const double v = it->second;
      const std::string theirs =
          names && v >= 0 && v < double(names->size()) ? (*names)[static_cast<std::size_t>(v)] : show_number(v);
      throw std::invalid_argument("--" + key + " " + shown + " contradicts the checkpoint, trained with --" + key +
                                  " " + theirs + " (omit the option to use the checkpoint's)");
    }
    return values_[key] = it->second;
  }
  return values_[key] = from_args;
}

std::size_t Settings::count(const std::string& key, std::size_t fallback) {
  const long v = args_.integer(key, static_cast<long>(fallback));
  if (v <= 0) throw std::invalid_argument("--" + key + " must be positive, got " + std::to_string(v));
  const double saved_or_given = resolve(key, double(v), std::to_string(v));
  return static_cast<std::size_t>(saved_or_given);
}

double Settings::number(const std::string& key, double fallback) {
  if (!args_.has(key))
    if (auto v = saved(key)) return values_[key] = *v;
  return values_[key] = args_.num(key, fallback);
}

std::optional<double> Settings::saved(const std::string& key) const {
  if (!saved_) return std::nullopt;
  auto it = saved_->find(key);
  if (it == saved_->end()) return std::nullopt;
  return it->second;
}

std::string Settings::choice(const std::string& key, const std::string& fallback,
                             const std::vector<std::string>& options, bool must_match) {
  const std::string given = args_.str(key, fallback);
  auto it = std::find(options.begin(), options.end(), given);
  if (it == options.end()) {
    std::string list;
    for (const auto& o : options) list += (list.empty() ? "" : "|") + o;
    throw std::invalid_argument("--" + key + " must be " + list + ", got '" + given + "'");
  }
  double index = double(it - options.begin());
  if (must_match)
    index = resolve(key, index, given, &options);
  else if (auto v = args_.has(key) ? std::nullopt : saved(key))
    index = *v;
  values_[key] = index;
  if (index < 0 || index >= double(options.size()))
    throw std::invalid_argument("the checkpoint's setting '" + key + "' is out of range: " + show_number(index));
  return options[static_cast<std::size_t>(index)];
}

// ---- checkpoint ------------------------------------------------------------------------------

SavedRun read_saved_run(const std::string& path) {
  const std::map<std::string, Tensor<float>> entries = tapenet::load_npz<float>(path);
  SavedRun run;
  const std::string settings = "state/" + kPrefix + "setting/";
  for (const auto& [name, t] : entries)
    if (name.rfind(settings, 0) == 0) run.settings[name.substr(settings.size())] = join_double(t);
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
  for (const auto& [key, value] : settings) extra[kPrefix + "setting/" + key] = split_double(value);
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
