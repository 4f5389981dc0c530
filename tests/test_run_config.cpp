// The examples' shared skeleton (examples/common): a run's remembered options under the one
// resume policy, their text form, and the training loop's order of events.
#define BOOST_TEST_MODULE run_config
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "examples/common/run_config.hpp"
#include "examples/common/train_loop.hpp"

using namespace tapenet::examples;

namespace {

// Args from a list of words, as main() would get them.
Args args_of(std::vector<std::string> words) {
  static std::vector<std::vector<std::string>> keep;  // argv must outlive the Args
  keep.push_back(std::move(words));
  std::vector<std::string>& w = keep.back();
  static std::vector<std::vector<char*>> argvs;
  argvs.emplace_back();
  argvs.back().push_back(const_cast<char*>("prog"));
  for (auto& s : w) argvs.back().push_back(s.data());
  return Args(int(argvs.back().size()), argvs.back().data(), {"hidden", "lr", "cell", "tied", "name"}, {"tied"}, "usage");
}

ConfigValues fresh_run_values() {
  Args args = args_of({"--hidden", "32", "--lr", "0.1", "--cell", "gru", "--name", "a\tb\\c\nd"});
  RunConfig c(args, nullptr);
  c.count("hidden", 8);
  c.number("lr", 1.0);
  c.choice("cell", "lstm", {"lstm", "gru"});
  c.flag("tied");
  c.text("name", "");
  return c.values();
}

bool message_contains(const std::invalid_argument& e, const std::string& text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(values_round_trip_through_their_text_exactly) {
  const ConfigValues values = fresh_run_values();
  const ConfigValues back = parse_config(serialize_config(values), "test");
  BOOST_TEST((back == values));
  BOOST_TEST(back.at("lr").as_real() == 0.1);  // bit-identical, not just close
  BOOST_TEST(back.at("name").text == "a\tb\\c\nd");
  BOOST_TEST((back.at("hidden").type == ConfigValue::Type::Integer));
  BOOST_TEST(back.at("tied").as_flag() == false);
}

BOOST_AUTO_TEST_CASE(a_resumed_run_takes_omitted_options_from_the_checkpoint) {
  const ConfigValues saved = fresh_run_values();
  Args none = args_of({});
  RunConfig c(none, &saved);
  BOOST_TEST(c.count("hidden", 8) == 32u);
  BOOST_TEST(c.number("lr", 1.0) == 0.1);
  BOOST_TEST(c.choice("cell", "lstm", {"lstm", "gru"}) == "gru");
}

BOOST_AUTO_TEST_CASE(fixed_options_given_again_must_match_tunable_ones_override) {
  const ConfigValues saved = fresh_run_values();
  Args same = args_of({"--hidden", "32", "--lr", "0.5"});
  RunConfig ok(same, &saved);
  BOOST_TEST(ok.count("hidden", 8) == 32u);
  BOOST_TEST(ok.number("lr", 1.0) == 0.5);  // tunable: the command line wins

  Args other = args_of({"--hidden", "64", "--cell", "lstm"});
  RunConfig bad(other, &saved);
  BOOST_CHECK_EXCEPTION(bad.count("hidden", 8), std::invalid_argument, [](const std::invalid_argument& e) {
    return message_contains(e, "--hidden 64 contradicts the checkpoint, trained with --hidden 32");
  });
  BOOST_CHECK_EXCEPTION(bad.choice("cell", "lstm", {"lstm", "gru"}), std::invalid_argument,
                        [](const std::invalid_argument& e) { return message_contains(e, "trained with --cell gru"); });
}

BOOST_AUTO_TEST_CASE(a_fixed_option_the_checkpoint_lacks_or_types_differently_is_an_error) {
  ConfigValues saved = fresh_run_values();
  saved.erase("hidden");
  saved["lr"] = ConfigValue::string("fast");
  Args none = args_of({});
  RunConfig c(none, &saved);
  BOOST_CHECK_EXCEPTION(c.count("hidden", 8), std::invalid_argument,
                        [](const std::invalid_argument& e) { return message_contains(e, "no setting 'hidden'"); });
  BOOST_CHECK_EXCEPTION(c.number("lr", 1.0), std::invalid_argument,
                        [](const std::invalid_argument& e) { return message_contains(e, "'lr' is a text"); });
}

BOOST_AUTO_TEST_CASE(malformed_config_text_names_the_line) {
  BOOST_CHECK_EXCEPTION(parse_config("a\tinteger\t1\nbroken line\n", "ckpt.npz entry 'run/config'"),
                        std::invalid_argument, [](const std::invalid_argument& e) {
                          return message_contains(e, "ckpt.npz entry 'run/config' line 2");
                        });
  BOOST_CHECK_THROW(parse_config("a\tcomplex\t1\n", "x"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bad_values_on_the_command_line_are_errors) {
  Args args = args_of({"--hidden", "0", "--cell", "rnn", "--lr", "x"});
  RunConfig c(args, nullptr);
  BOOST_CHECK_THROW(c.count("hidden", 8), std::invalid_argument);
  BOOST_CHECK_THROW(c.choice("cell", "lstm", {"lstm", "gru"}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(loop_state_round_trips) {
  LoopState s;
  s.epoch = 3;
  s.batch = 7;
  s.step = 40;
  s.train_seconds = 1.25;
  s.items = 1280;
  const LoopState back = LoopState::from_values(parse_config(serialize_config(s.to_values()), "x"), "x");
  BOOST_TEST(back.epoch == 3u);
  BOOST_TEST(back.batch == 7u);
  BOOST_TEST(back.step == 40u);
  BOOST_TEST(back.train_seconds == 1.25);
  BOOST_TEST(back.items == 1280.0);
  ConfigValues partial = s.to_values();
  partial.erase("step");
  BOOST_CHECK_THROW(LoopState::from_values(partial, "x"), std::invalid_argument);
}

namespace {

// A fake run: epochs of 3 batches; the "validation score" of epoch e is scores[e - 1]; the
// one parameter holds the number of batches trained, so a snapshot shows when it was taken.
struct FakeRun {
  std::vector<double> scores;
  std::vector<std::string> events;
  tapenet::Parameter<float> p{"p", tapenet::zeros<float>({1})};
  LoopHooks hooks() {
    LoopHooks h;
    h.start_epoch = [this](std::size_t e) { events.push_back("start " + std::to_string(e)); return std::size_t(3); };
    h.train_batch = [this](const LoopState& s) {
      events.push_back("train " + std::to_string(s.epoch) + "." + std::to_string(s.batch));
      p.value(0) += 1;
      return StepResult{1.0, 10};
    };
    h.evaluate = [this](const LoopState& s) {
      events.push_back("eval " + std::to_string(s.epoch));
      return Evaluation{scores.at(s.epoch - 1)};
    };
    h.save = [this](const LoopState& s) { events.push_back("save " + std::to_string(s.step)); };
    return h;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_loop_evaluates_and_saves_at_epoch_ends_and_keeps_the_best) {
  FakeRun run{{0.5, 0.7, 0.6}, {}};
  tapenet::EarlyStopping<float> best({&run.p}, 0);
  LoopOptions o;
  o.epochs = 3;
  o.selection = &best;
  LoopState s;
  const LoopOutcome out = run_training_loop(o, run.hooks(), s);
  BOOST_TEST(!out.stopped_early);
  BOOST_TEST(s.step == 9u);
  BOOST_TEST(s.epoch == 3u);
  BOOST_TEST(s.items == 90.0);
  BOOST_TEST(best.best().score() == 0.7);
  BOOST_TEST(best.best().epoch() == 2);
  BOOST_TEST(best.best().values()[0](0) == 6.0f);  // the parameters after epoch 2
  BOOST_TEST(best.bad_epochs() == 1);
  const std::vector<std::string> first_epoch = {"start 0", "train 0.0", "train 0.1", "train 0.2", "eval 1", "save 3"};
  BOOST_TEST(std::vector<std::string>(run.events.begin(), run.events.begin() + 6) == first_epoch,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(lower_is_better_scores_are_negated_for_the_selection) {
  FakeRun run{{3.0, 2.0, 2.5}, {}};
  tapenet::EarlyStopping<float> best({&run.p}, 0);
  LoopOptions o;
  o.epochs = 3;
  o.selection = &best;
  o.higher_is_better = false;
  LoopState s;
  run_training_loop(o, run.hooks(), s);
  BOOST_TEST(best.best().score() == -2.0);
  BOOST_TEST(best.best().epoch() == 2);
}

BOOST_AUTO_TEST_CASE(patience_stops_the_run_and_a_resumed_run_continues_where_it_stopped) {
  FakeRun run{{0.5, 0.4, 0.3, 0.9}, {}};
  tapenet::EarlyStopping<float> stopping({&run.p}, 2);
  LoopOptions o;
  o.epochs = 4;
  o.selection = &stopping;
  LoopState s;
  const LoopOutcome out = run_training_loop(o, run.hooks(), s);
  BOOST_TEST(out.stopped_early);
  BOOST_TEST(s.epoch == 3u);
  BOOST_TEST(run.events.back() == "save 9");  // a stop is saved

  FakeRun straight{{0.5, 0.4, 0.3, 0.9}, {}};
  LoopState half, whole;
  o.selection = nullptr;
  o.max_steps = 4;  // stops inside epoch 1: batch 1 of it is next
  run_training_loop(o, straight.hooks(), half);
  BOOST_TEST(half.epoch == 1u);
  BOOST_TEST(half.batch == 1u);
  BOOST_TEST(straight.events.back() == "save 4");
  o.max_steps = 0;
  whole = LoopState::from_values(parse_config(serialize_config(half.to_values()), "x"), "x");
  straight.events.clear();
  run_training_loop(o, straight.hooks(), whole);
  BOOST_TEST(straight.events.front() == "start 1");  // the epoch is prepared again, then batch 1 trains
  BOOST_TEST(straight.events.at(1) == "train 1.1");
  BOOST_TEST(whole.step == 12u);
}
