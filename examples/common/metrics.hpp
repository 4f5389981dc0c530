// Final figures of an example as a flat JSON object, written atomically (temp + rename).
#pragma once

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "replicas.hpp"

namespace tapenet::examples {

class Metrics {
 public:
  void set(const std::string& key, double value) { entries_.emplace_back(key, number(value)); }
  void set(const std::string& key, const std::string& value) { entries_.emplace_back(key, quote(value)); }

  void write(const std::string& path) const {
    if (path.empty() || !on_root()) return;  // one writer under mpirun
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp);
      auto entries = entries_;
      if (world().distributed()) {
        const distributed::ReductionStats& r = distributed::reduction_stats();
        entries.emplace_back("ranks", number(world().size()));
        entries.emplace_back("reduce_ms_per_step", number(r.calls ? 1e3 * r.seconds / double(r.calls) : 0));
        entries.emplace_back("reduce_bytes_per_step", number(r.calls ? r.bytes / double(r.calls) : 0));
      }
      out << "{\n";
      for (std::size_t i = 0; i < entries.size(); ++i)
        out << "  " << quote(entries[i].first) << ": " << entries[i].second << (i + 1 < entries.size() ? ",\n" : "\n");
      out << "}\n";
      if (!out) throw std::runtime_error("metrics: cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("metrics: cannot rename " + tmp + " to " + path);
  }

 private:
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream s;
    s << std::setprecision(10) << v;
    return s.str();
  }
  static std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (c == '\n') { out += "\\n"; continue; }
      out += c;
    }
    return out + "\"";
  }

  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace tapenet::examples
