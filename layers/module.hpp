// The module protocol: a layer is a small struct of named parameters plus a forward
// function. Modules own their parameters and register their sub-modules, so
// `parameters()` lists everything an optimizer or a checkpoint needs, with dotted names
// ("encoder.cell.W"). Modules are neither copied nor moved — sub-modules are registered by
// address — so hold big models by value in one place or by std::unique_ptr.
//
// Forward functions take the tape as an argument and never mutate the module: one module
// can serve many tapes on many threads at once (parameters are read-only there).
#pragma once

#include <deque>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "autograd/parameter.hpp"
#include "autograd/tape.hpp"

namespace tapenet {

template <class T>
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its sub-modules, in registration order.
  ParameterList<T> parameters() {
    ParameterList<T> out;
    collect(out);
    return out;
  }
  std::size_t parameter_count() {
    std::size_t n = 0;
    for (auto* p : parameters()) n += p->size();
    return n;
  }

  // Training mode (dropout on) or evaluation mode, for this module and all below it.
  void train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
  }
  void eval() { train(false); }
  bool training() const { return training_; }

 protected:
  Parameter<T>& add_parameter(const std::string& name, Tensor<T> init) {
    return params_.emplace_back(name, std::move(init));
  }
  // Registers a member sub-module; its parameters are renamed "<name>.<theirs>".
  template <class M>
  M& add_module(const std::string& name, M& child) {
    for (auto* p : child.parameters()) p->name = name + "." + p->name;
    children_.emplace_back(name, &child);
    return child;
  }

 private:
  void collect(ParameterList<T>& out) {
    for (auto& p : params_) out.push_back(&p);
    for (auto& [name, child] : children_) child->collect(out);
  }

  std::deque<Parameter<T>> params_;  // deque: parameter addresses never move
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

}  // namespace tapenet
