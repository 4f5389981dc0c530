// The options a run remembers, so that `--resume` alone continues the same run, stored the
// same way by every example: typed entries (integer, real, text, flag) serialised as one
// text entry of the checkpoint.
//
// One policy everywhere. A fresh run reads every option from the command line. A resumed
// run takes the checkpoint's value for each option it leaves out; of those it gives again,
// the *fixed* ones (the model's shape, the data, the state's layout) must equal the
// checkpoint's — an error names both values — and the *tunable* ones override it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"

namespace tapenet::examples {

enum class Policy { Fixed, Tunable };

// One remembered value with its type; `text` is its exact spelling (reals with 17
// significant digits, so a value read back is bit-identical).
struct ConfigValue {
  enum class Type { Integer, Real, Text, Flag };
  Type type = Type::Text;
  std::string text;

  static ConfigValue integer(long v) { return {Type::Integer, std::to_string(v)}; }
  static ConfigValue real(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return {Type::Real, buf};
  }
  static ConfigValue string(std::string v) { return {Type::Text, std::move(v)}; }
  static ConfigValue flag(bool v) { return {Type::Flag, v ? "true" : "false"}; }

  long as_integer() const { return std::stol(text); }
  double as_real() const { return std::stod(text); }
  bool as_flag() const { return text == "true"; }
  bool operator==(const ConfigValue& o) const { return type == o.type && text == o.text; }
  bool operator!=(const ConfigValue& o) const { return !(*this == o); }
};

using ConfigValues = std::map<std::string, ConfigValue>;

// "key<TAB>type<TAB>value" lines, sorted by key; tabs, newlines and backslashes in values
// are escaped.
std::string serialize_config(const ConfigValues& values);
// Throws std::invalid_argument naming `what` and the line of a malformed entry.
ConfigValues parse_config(const std::string& text, const std::string& what);

// 0.35 rather than 0.350000.
std::string show_number(double v);

class RunConfig {
 public:
  // `saved`: the checkpoint's configuration when resuming, else null.
  RunConfig(const Args& args, const ConfigValues* saved) : args_(args), saved_(saved) {}

  // A positive integer.
  std::size_t count(const std::string& key, std::size_t fallback, Policy policy = Policy::Fixed);
  long integer(const std::string& key, long fallback, Policy policy = Policy::Tunable);
  double number(const std::string& key, double fallback, Policy policy = Policy::Tunable);
  std::string text(const std::string& key, const std::string& fallback, Policy policy = Policy::Fixed);
  // One of `options`.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& options,
                     Policy policy = Policy::Fixed);
  // A bare --flag: given, true; omitted, the checkpoint's value on resume, else false.
  bool flag(const std::string& key, Policy policy = Policy::Fixed);

  // A value the program derives (e.g. the planned step count), remembered like the others.
  void set(const std::string& key, ConfigValue value) { values_[key] = std::move(value); }
  // The checkpoint's value of `key`, when resuming from one that has it.
  std::optional<ConfigValue> saved(const std::string& key) const;
  bool resuming() const { return saved_ != nullptr; }

  // Every value read so far: what the next checkpoint stores.
  const ConfigValues& values() const { return values_; }

 private:
  // The value in force: the command line's on a fresh run; on resume the checkpoint's,
  // unless given again (fixed: it must match; tunable: it overrides).
  ConfigValue resolve(const std::string& key, const ConfigValue& given, bool was_given, Policy policy);

  const Args& args_;
  const ConfigValues* saved_;
  ConfigValues values_;
};

// ---- implementation (header-only: the examples share no library) ------------------------------

namespace run_config_detail {

inline std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

inline std::string unescape(const std::string& s, const std::string& where) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') { out += s[i]; continue; }
    if (++i == s.size()) throw std::invalid_argument(where + ": a value ends in a lone backslash");
    out += s[i] == 't' ? '\t' : s[i] == 'n' ? '\n' : s[i];
  }
  return out;
}

inline const char* type_name(ConfigValue::Type t) {
  switch (t) {
    case ConfigValue::Type::Integer: return "integer";
    case ConfigValue::Type::Real: return "real";
    case ConfigValue::Type::Flag: return "flag";
    case ConfigValue::Type::Text: break;
  }
  return "text";
}

inline ConfigValue::Type parse_type(const std::string& name, const std::string& where) {
  for (auto t : {ConfigValue::Type::Integer, ConfigValue::Type::Real, ConfigValue::Type::Text, ConfigValue::Type::Flag})
    if (name == type_name(t)) return t;
  throw std::invalid_argument(where + ": unknown type '" + name + "'");
}

// A real for messages: 0.35, not 0.35000000000000003.
inline std::string shown(const ConfigValue& v) {
  return v.type == ConfigValue::Type::Real ? show_number(v.as_real()) : v.text;
}

}  // namespace run_config_detail

inline std::string serialize_config(const ConfigValues& values) {
  std::string out;
  for (const auto& [key, v] : values)
    out += run_config_detail::escape(key) + "\t" + run_config_detail::type_name(v.type) + "\t" +
           run_config_detail::escape(v.text) + "\n";
  return out;
}

inline ConfigValues parse_config(const std::string& text, const std::string& what) {
  ConfigValues values;
  std::istringstream in(text);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    const std::string where = what + " line " + std::to_string(n);
    const auto a = line.find('\t'), b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos) throw std::invalid_argument(where + ": expected key<TAB>type<TAB>value");
    ConfigValue v{run_config_detail::parse_type(line.substr(a + 1, b - a - 1), where),
                  run_config_detail::unescape(line.substr(b + 1), where)};
    values[run_config_detail::unescape(line.substr(0, a), where)] = std::move(v);
  }
  return values;
}

inline std::string show_number(double v) {
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

inline std::optional<ConfigValue> RunConfig::saved(const std::string& key) const {
  if (!saved_) return std::nullopt;
  auto it = saved_->find(key);
  if (it == saved_->end()) return std::nullopt;
  return it->second;
}

inline ConfigValue RunConfig::resolve(const std::string& key, const ConfigValue& given, bool was_given, Policy policy) {
  if (!saved_) return values_[key] = given;
  const std::optional<ConfigValue> theirs = saved(key);
  if (!theirs) {
    if (policy == Policy::Fixed) throw std::invalid_argument("the checkpoint has no setting '" + key + "'");
    return values_[key] = given;
  }
  if (theirs->type != given.type)
    throw std::invalid_argument("the checkpoint's setting '" + key + "' is a " + run_config_detail::type_name(theirs->type) +
                                ", expected a " + run_config_detail::type_name(given.type));
  if (was_given && policy == Policy::Fixed && *theirs != given)
    throw std::invalid_argument("--" + key + " " + run_config_detail::shown(given) +
                                " contradicts the checkpoint, trained with --" + key + " " +
                                run_config_detail::shown(*theirs) + " (omit the option to use the checkpoint's)");
  return values_[key] = was_given ? given : *theirs;
}

inline std::size_t RunConfig::count(const std::string& key, std::size_t fallback, Policy policy) {
  const long v = integer(key, static_cast<long>(fallback), policy);
  if (v <= 0) throw std::invalid_argument("--" + key + " must be positive, got " + std::to_string(v));
  return static_cast<std::size_t>(v);
}

inline long RunConfig::integer(const std::string& key, long fallback, Policy policy) {
  const double v = args_.num(key, double(fallback));
  if (!(std::abs(v) < 1e15) || v != std::floor(v))
    throw std::invalid_argument("--" + key + " must be a whole number, got " + show_number(v));
  return resolve(key, ConfigValue::integer(static_cast<long>(v)), args_.has(key), policy).as_integer();
}

inline double RunConfig::number(const std::string& key, double fallback, Policy policy) {
  return resolve(key, ConfigValue::real(args_.num(key, fallback)), args_.has(key), policy).as_real();
}

inline std::string RunConfig::text(const std::string& key, const std::string& fallback, Policy policy) {
  return resolve(key, ConfigValue::string(args_.str(key, fallback)), args_.has(key), policy).text;
}

inline std::string RunConfig::choice(const std::string& key, const std::string& fallback,
                                     const std::vector<std::string>& options, Policy policy) {
  auto list = [&] {  // "a, b or c"
    std::string s;
    for (std::size_t i = 0; i < options.size(); ++i)
      s += (i == 0 ? "" : i + 1 == options.size() ? " or " : ", ") + options[i];
    return s;
  };
  const std::string given = args_.str(key, fallback);
  if (std::find(options.begin(), options.end(), given) == options.end())
    throw std::invalid_argument("--" + key + " must be " + list() + ", got '" + given + "'");
  const std::string value = resolve(key, ConfigValue::string(given), args_.has(key), policy).text;
  if (std::find(options.begin(), options.end(), value) == options.end())
    throw std::invalid_argument("the checkpoint's setting '" + key + "' is '" + value + "', not one of " + list());
  return value;
}

inline bool RunConfig::flag(const std::string& key, Policy policy) {
  return resolve(key, ConfigValue::flag(args_.has(key)), args_.has(key), policy).as_flag();
}

}  // namespace tapenet::examples
