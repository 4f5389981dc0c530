#include "distributed/consistency.hpp"

#include <cstdio>
#include <sstream>

namespace tapenet::distributed {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first line where a and b differ, quoted from both ("(none)" past the end of one).
std::string first_difference(const std::string& a, const std::string& b, int rank_b) {
  const auto la = lines_of(a), lb = lines_of(b);
  for (std::size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    const std::string x = i < la.size() ? '"' + la[i] + '"' : "(no line)";
    const std::string y = i < lb.size() ? '"' + lb[i] + '"' : "(no line)";
    if (x != y) return "rank 0 has " + x + ", rank " + std::to_string(rank_b) + " has " + y;
  }
  return "the texts differ";
}

}  // namespace

void check_agreement(const World& world, const std::vector<Agreement>& items) {
  if (!world.distributed()) return;
  for (const Agreement& item : items) {
    const std::vector<std::string> all = world.all_gather(item.text);
    for (int r = 1; r < world.size(); ++r)
      if (all[std::size_t(r)] != all[0])
        throw DistributedError("rank " + std::to_string(r) + " was started with a different " + item.what +
                               " than rank 0: " + first_difference(all[0], all[std::size_t(r)], r));
  }
}

template <class T>
std::string parameter_shapes(const ParameterList<T>& params) {
  std::string out;
  for (const Parameter<T>* p : params) {
    out += p->name + " [";
    for (std::size_t d = 0; d < p->value.dimension(); ++d) out += (d ? "," : "") + std::to_string(p->value.shape()[d]);
    out += "]\n";
  }
  return out;
}

std::uint64_t fingerprint(const void* data, std::size_t bytes, std::uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) seed = (seed ^ p[i]) * 0x100000001b3ULL;
  return seed;
}

std::string hex(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

template std::string parameter_shapes<float>(const ParameterList<float>&);
template std::string parameter_shapes<double>(const ParameterList<double>&);

}  // namespace tapenet::distributed
