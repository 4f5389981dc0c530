// Options a checkpoint remembers, so that `--resume` alone continues the same run.
//
// A fresh run reads every option from the command line. A resumed run takes the
// checkpoint's value for each option it leaves out; of those it gives again, the ones that
// fix the model's shape or the state's layout must equal the checkpoint's (an error names
// both values), and the others override it. The values travel in the checkpoint's .npz as
// float tensors: each double split into three floats whose sum (in double) is exact.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/tensor.hpp"
#include "cli.hpp"

namespace tapenet::examples {

// A double as three floats (24 + 24 + 24 bits of mantissa): hi + mid + lo, summed in
// double, gives the value back exactly.
inline Tensor<float> split_double(double v) {
  Tensor<float> t = zeros<float>({3});
  double rest = v;
  for (std::size_t i = 0; i < 3; ++i) {
    t(i) = static_cast<float>(rest);
    rest -= double(t(i));
  }
  return t;
}

inline double join_double(const Tensor<float>& t) {
  double v = 0;
  for (float part : t) v += double(part);
  return v;
}

// 0.35 rather than 0.350000.
inline std::string show_number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// state[prefix + key] = the value, for every setting.
inline void write_settings(const std::map<std::string, double>& values, const std::string& prefix,
                           std::map<std::string, Tensor<float>>& state) {
  for (const auto& [key, value] : values) state[prefix + key] = split_double(value);
}

// The settings stored under `prefix` in a checkpoint's entries (none: an empty map).
inline std::map<std::string, double> read_settings(const std::map<std::string, Tensor<float>>& entries,
                                                   const std::string& prefix) {
  std::map<std::string, double> values;
  for (const auto& [name, t] : entries)
    if (name.rfind(prefix, 0) == 0) values[name.substr(prefix.size())] = join_double(t);
  return values;
}

class Settings {
 public:
  // `saved`: the checkpoint's settings when resuming, else null.
  Settings(const Args& args, const std::map<std::string, double>* saved) : args_(args), saved_(saved) {}

  // Must-match options (given on resume, they must equal the checkpoint's): count, a
  // positive integer; fixed_number, fixed_integer; choice (unless must_match = false).
  std::size_t count(const std::string& key, std::size_t fallback) {
    const long v = args_.integer(key, static_cast<long>(fallback));
    if (v <= 0) throw std::invalid_argument("--" + key + " must be positive, got " + std::to_string(v));
    return static_cast<std::size_t>(resolve(key, double(v), std::to_string(v)));
  }
  double fixed_number(const std::string& key, double fallback) {
    const double v = args_.num(key, fallback);
    return resolve(key, v, show_number(v));
  }
  long fixed_integer(const std::string& key, long fallback) { return whole(key, fixed_number(key, double(fallback))); }
  // One of `options`; with must_match = false a given value overrides the checkpoint's.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& options,
                     bool must_match = true) {
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
  // Overridable options (given on resume, they replace the checkpoint's): number, integer.
  double number(const std::string& key, double fallback) {
    if (!args_.has(key))
      if (auto v = saved(key)) return values_[key] = *v;
    return values_[key] = args_.num(key, fallback);
  }
  long integer(const std::string& key, long fallback) { return whole(key, number(key, double(fallback))); }
  // The checkpoint's value of `key`, when resuming from one that has it.
  std::optional<double> saved(const std::string& key) const {
    if (!saved_) return std::nullopt;
    auto it = saved_->find(key);
    if (it == saved_->end()) return std::nullopt;
    return it->second;
  }
  void set(const std::string& key, double value) { values_[key] = value; }

  // Every setting read so far: what the next checkpoint stores.
  const std::map<std::string, double>& values() const { return values_; }

 private:
  static long whole(const std::string& key, double v) {
    if (!(std::abs(v) < 1e15) || v != std::floor(v))
      throw std::invalid_argument("--" + key + " must be a whole number, got " + show_number(v));
    return static_cast<long>(v);
  }

  // The checkpoint's value when resuming, else the command line's; `names` shows choices.
  double resolve(const std::string& key, double from_args, const std::string& shown,
                 const std::vector<std::string>* names = nullptr) {
    if (!saved_) return values_[key] = from_args;
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

  const Args& args_;
  const std::map<std::string, double>* saved_;
  std::map<std::string, double> values_;
};

}  // namespace tapenet::examples
