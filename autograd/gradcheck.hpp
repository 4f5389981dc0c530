/// @file
/// Gradient checking for users' own ops and architectures: central finite differences in
/// double against backward(), with PyTorch gradcheck's default tolerances.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/tape.hpp"

namespace tapenet {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  std::uint64_t seed = 12345;  ///< for the random projection of non-scalar outputs
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;  ///< max |analytic - numeric|
  double max_rel_error = 0;  ///< max |analytic - numeric| / max(|numeric|, 1e-12)
  std::string worst;         ///< e.g. "parameter 'W' at [0,3]: analytic 0.1, numeric 0.2"
  std::size_t checked = 0;   ///< number of scalar entries compared
  std::string message() const;
};

/// f builds the graph on the given tape from the given inputs (leaves of that tape) and
/// returns any output; non-scalar outputs are reduced by a fixed random projection ⟨R, y⟩,
/// which checks a random combination of the Jacobian's rows. `params` are checked too.
/// f must be deterministic (seed any dropout inside it).
using GradcheckFn = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs,
                          const ParameterList<double>& params = {}, const GradcheckOptions& options = {});

}  // namespace tapenet
