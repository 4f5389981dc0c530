/// @file
/// Exceptions thrown by the engine. Every message names the op that failed.
#pragma once

#include <stdexcept>
#include <string>

namespace tapenet {

/// Incompatible shapes, raised before any computation: "matmul: [3,4] x [5,2]".
class ShapeError : public std::invalid_argument {
 public:
  ShapeError(const std::string& op, const std::string& detail)
      : std::invalid_argument(op + ": " + detail), op_(op) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// Anomaly mode: the first op producing NaN/Inf (forward or backward).
class AnomalyError : public std::runtime_error {
 public:
  AnomalyError(const std::string& op, const std::string& detail)
      : std::runtime_error("anomaly: " + op + " " + detail), op_(op) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

/// Misuse of the tape: backward over a freed tape, non-scalar loss without seed, ...
class TapeError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace tapenet
