/// @file
/// The module protocol: a layer is a small struct of named parameters plus a forward
/// function. Modules own their parameters and register their sub-modules, so
/// `parameters()` lists everything an optimizer or a checkpoint needs, with dotted names
/// ("encoder.cell.W"). Modules are neither copied nor moved — sub-modules are registered by
/// address — so hold big models by value in one place or by std::unique_ptr.
///
/// Forward functions take the tape as an argument and never mutate the module: one module
/// can serve many tapes on many threads at once (parameters are read-only there).
///
/// A sub-module that its parent's constructor forgets to add_module() would silently drop
/// out of parameters() (the optimizer, the checkpoint) and of train()/eval(). parameters()
/// detects it: every module remembers when it was constructed, and a module constructed
/// while its parent was being built — after the parent started and before the parent's last
/// add_module/add_parameter call — that no module registered is reported as ModuleError.
/// (A constructor that registers nothing at all leaves no such window and is not checked.)
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <utility>
#include <vector>
#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

#include "autograd/parameter.hpp"
#include "autograd/tape.hpp"

namespace tapenet {

/// A module tree built wrongly: a sub-module that was never registered.
class ModuleError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
inline std::string type_name(const std::type_info& type) {
#if __has_include(<cxxabi.h>)
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  if (status == 0 && name) {
    std::string out(name);
    std::free(name);
    return out;
  }
#endif
  return type.name();
}
}  // namespace detail

template <class T>
class Module {
 public:
  Module() : birth_(++serial()), thread_(std::this_thread::get_id()) {
    Unregistered& u = unregistered();
    const std::lock_guard<std::mutex> lock(u.mutex);
    u.modules.push_back(this);
  }
  virtual ~Module() { claim(this); }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Every parameter of this module and its sub-modules, in registration order. Throws
  /// ModuleError when a sub-module constructed inside this one was never registered.
  ParameterList<T> parameters() {
    check_registration();
    ParameterList<T> out;
    collect(out);
    return out;
  }
  std::size_t parameter_count() {
    std::size_t n = 0;
    for (auto* p : parameters()) n += p->size();
    return n;
  }

  /// Training mode (dropout on) or evaluation mode, for this module and all below it.
  void train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
  }
  void eval() { train(false); }
  bool training() const { return training_; }

 protected:
  Parameter<T>& add_parameter(const std::string& name, Tensor<T> init) {
    last_registration_ = serial().load();
    return params_.emplace_back(name, std::move(init));
  }
  /// Registers a member sub-module; its parameters are renamed "<name>.<theirs>".
  template <class M>
  M& add_module(const std::string& name, M& child) {
    for (auto* p : child.parameters()) p->name = name + "." + p->name;
    children_.emplace_back(name, &child);
    claim(&child);
    last_registration_ = serial().load();
    return child;
  }
  /// A sub-module kept out of parameters() and train() on purpose (a frozen copy): tells the
  /// registration check that leaving it unregistered is no mistake.
  template <class M>
  M& hold_unregistered(M& child) {
    claim(&child);
    return child;
  }

 private:
  // Live modules that no parent registered: the roots, and any sub-module forgotten.
  struct Unregistered {
    std::mutex mutex;
    std::vector<const Module*> modules;
  };
  static Unregistered& unregistered() {
    static Unregistered* u = new Unregistered;  // never destroyed: modules may outlive statics
    return *u;
  }
  static std::atomic<std::uint64_t>& serial() {
    static std::atomic<std::uint64_t> s{0};
    return s;
  }
  static void claim(const Module* m) {
    Unregistered& u = unregistered();
    const std::lock_guard<std::mutex> lock(u.mutex);
    u.modules.erase(std::remove(u.modules.begin(), u.modules.end(), m), u.modules.end());
  }
  // Constructed on this module's thread while this module was being built, and never
  // registered: a member its constructor forgot to add_module().
  void check_registration() const {
    Unregistered& u = unregistered();
    const std::lock_guard<std::mutex> lock(u.mutex);
    for (const Module* m : u.modules)
      if (m != this && m->thread_ == thread_ && m->birth_ > birth_ && m->birth_ <= last_registration_)
        throw ModuleError("parameters() of " + detail::type_name(typeid(*this)) + ": a sub-module " +
                          detail::type_name(typeid(*m)) +
                          " constructed inside it was never registered, so its parameters would miss the "
                          "optimizer and the checkpoint: call add_module(\"name\", member) in the constructor "
                          "(or hold_unregistered(member) to leave it out on purpose)");
  }

  void collect(ParameterList<T>& out) {
    for (auto& p : params_) out.push_back(&p);
    for (auto& [name, child] : children_) child->collect(out);
  }

  std::deque<Parameter<T>> params_;  // deque: parameter addresses never move
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
  std::uint64_t birth_;                 // construction order (serial of this module)
  std::uint64_t last_registration_ = 0;  // serial when this module last registered something
  std::thread::id thread_;              // the thread that constructed it
};

}  // namespace tapenet
