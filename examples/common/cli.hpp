// Command-line options shared by the examples: `--key value` and bare `--flag`.
#pragma once

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace tapenet::examples {

class Args {
 public:
  // `known` lists every accepted option (without "--"); `flags` are those taking no value.
  Args(int argc, char** argv, std::set<std::string> known, std::set<std::string> flags, std::string usage)
      : usage_(std::move(usage)) {
    known.insert("help");
    flags.insert("help");
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0) fail("unexpected argument '" + arg + "'");
      std::string key = arg.substr(2);
      if (!known.count(key)) fail("unknown option '--" + key + "'");
      if (flags.count(key)) {
        values_[key] = "1";
      } else {
        if (i + 1 >= argc) fail("option '--" + key + "' needs a value");
        values_[key] = argv[++i];
      }
    }
    if (has("help")) {
      std::cout << usage_ << "\n";
      std::exit(0);
    }
  }

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  std::string str(const std::string& key, const std::string& fallback = "") const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  double num(const std::string& key, double fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    try {
      std::size_t used = 0;
      double v = std::stod(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument("trailing characters");
      return v;
    } catch (const std::exception&) {
      fail("option '--" + key + "' needs a number, got '" + it->second + "'");
    }
  }
  long integer(const std::string& key, long fallback) const { return static_cast<long>(num(key, double(fallback))); }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    std::cerr << "error: " << message << "\n" << usage_ << "\n";
    std::exit(2);
  }

  std::string usage_;
  std::map<std::string, std::string> values_;
};

}  // namespace tapenet::examples
