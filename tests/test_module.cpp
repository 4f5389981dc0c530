// The module protocol: parameters() lists every registered parameter with dotted names,
// train()/eval() reach every sub-module, and a sub-module its parent forgot to register
// is reported instead of silently missing the optimizer and the checkpoint.
#define BOOST_TEST_MODULE module
#include <boost/test/unit_test.hpp>

#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "layers/basic.hpp"
#include "layers/module.hpp"

using namespace tapenet;

namespace {

std::set<std::string> names_of(const ParameterList<float>& params) {
  std::set<std::string> names;
  for (const auto* p : params) names.insert(p->name);
  return names;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Registers its three sub-modules: two members and one on the heap.
struct Registered : Module<float> {
  std::mt19937_64 rng{1};
  Linear<float> encoder{3, 4, rng};
  Linear<float> decoder{4, 2, rng};
  std::unique_ptr<Linear<float>> extra;
  Registered() {
    add_module("encoder", encoder);
    add_module("decoder", decoder);
    extra = std::make_unique<Linear<float>>(2, 2, rng, false);
    add_module("extra", *extra);
  }
};

// The mistake: `decoder` is a member but never registered.
struct ForgetsAMember : Module<float> {
  std::mt19937_64 rng{1};
  Linear<float> encoder{3, 4, rng};
  Linear<float> decoder{4, 2, rng};
  ForgetsAMember() { add_module("encoder", encoder); }
};

// The mistake one level down: the outer model registers `inner`, whose constructor forgot one.
struct Outer : Module<float> {
  ForgetsAMember inner;
  Outer() { add_module("inner", inner); }
};

// A heap sub-module created before the last registration and never registered.
struct ForgetsAHeapModule : Module<float> {
  std::mt19937_64 rng{1};
  std::unique_ptr<Linear<float>> forgotten = std::make_unique<Linear<float>>(3, 3, rng);
  Parameter<float>& scale = add_parameter("scale", zeros<float>({1}));
};

// Deliberately outside parameters(): a frozen copy.
struct HoldsAFrozenCopy : Module<float> {
  std::mt19937_64 rng{1};
  Linear<float> live{3, 3, rng};
  Linear<float> frozen{3, 3, rng};
  HoldsAFrozenCopy() {
    add_module("live", live);
    hold_unregistered(frozen);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(registered_sub_modules_are_listed_with_dotted_names) {
  Registered model;
  BOOST_TEST((names_of(model.parameters()) ==
              std::set<std::string>{"encoder.W", "encoder.b", "decoder.W", "decoder.b", "extra.W"}));
  model.eval();
  BOOST_TEST(!model.decoder.training());
  BOOST_TEST(!model.extra->training());
}

BOOST_AUTO_TEST_CASE(a_forgotten_member_is_reported) {
  ForgetsAMember model;
  BOOST_CHECK_EXCEPTION(model.parameters(), ModuleError, [](const ModuleError& e) {
    BOOST_TEST_MESSAGE(e.what());
    return contains(e.what(), "ForgetsAMember") && contains(e.what(), "tapenet::Linear<float>") &&
           contains(e.what(), "never registered") && contains(e.what(), "add_module");
  });
}

BOOST_AUTO_TEST_CASE(a_member_forgotten_inside_a_sub_module_is_reported) {
  // Registering `inner` calls its parameters(), which finds the mistake.
  BOOST_CHECK_EXCEPTION(Outer(), ModuleError, [](const ModuleError& e) { return contains(e.what(), "ForgetsAMember"); });
}

BOOST_AUTO_TEST_CASE(a_forgotten_heap_module_is_reported) {
  ForgetsAHeapModule model;
  BOOST_CHECK_THROW(model.parameters(), ModuleError);
}

BOOST_AUTO_TEST_CASE(hold_unregistered_leaves_a_module_out_on_purpose) {
  HoldsAFrozenCopy model;
  BOOST_TEST((names_of(model.parameters()) == std::set<std::string>{"live.W", "live.b"}));
}

BOOST_AUTO_TEST_CASE(independent_models_are_no_mistake) {
  std::mt19937_64 rng(3);
  Linear<float> a(2, 2, rng);
  auto b = std::make_unique<Registered>();
  Linear<float> c(2, 2, rng);
  BOOST_TEST(a.parameters().size() == 2u);
  BOOST_TEST(b->parameters().size() == 5u);
  BOOST_TEST(c.parameters().size() == 2u);
  // Models built on other threads at the same time neither disturb nor are blamed.
  std::thread other([] {
    Registered m;
    BOOST_TEST(m.parameters().size() == 5u);
  });
  Registered here;
  other.join();
  BOOST_TEST(here.parameters().size() == 5u);
  // A model with a forgotten member that is gone leaves nothing behind to blame later.
  { ForgetsAMember gone; }
  Registered after;
  BOOST_TEST(after.parameters().size() == 5u);
}
