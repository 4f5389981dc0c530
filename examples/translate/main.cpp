// Neural machine translation with an attention encoder–decoder (Bahdanau et al. 2015):
// "the network first reads and memorises the sentence; when it sees the end token it starts
// to output the translation" (Cho et al. 2014; Sutskever et al. 2014).
//
//   m_{1..S} = BiGRU(E_src x)                          encoder outputs (padded batch, masked)
//   h_0 = tanh(W_br [→h_S ; ←h_1])                      decoder initial state (Sutskever)
//   c_t = Σ_s softmax_s(vᵀ tanh(W_q h_{t-1} + W_k m_s)) m_s    attention (padding gets weight 0)
//   h_t = GRU([E_tgt y_{t-1} ; c_t], h_{t-1})           (Cho: the context at every step)
//   p(y_t | y_<t, x) = softmax(W_o [h_t ; c_t] + b_o)
// Training maximises log p(y | x) with teacher forcing over time-major padded batches (one
// tape per batch); translation is beam search with length normalisation.
//
// Subcommands:
//   translate train     [--data eng-fra.txt] [--tutorial-filter] ... --checkpoint FILE [--resume]
//   translate eval      --checkpoint FILE [--metrics-out FILE]        test BLEU and perplexity
//   translate translate --checkpoint FILE [--show-attention]          stdin sentences -> translations
//   translate translate --checkpoint FILE --input F --output F [--nbest K]   a whole file, batched
// Without --data: a built-in task, English number words -> digits ("forty two" -> "4 2").
// The checkpoint FILE (.npz, examples/common/run_checkpoint.hpp) holds the options (run/config)
// and the loop's position; its companions FILE.src.vocab / FILE.tgt.vocab hold the vocabularies,
// and with --subwords FILE.spm (--joint-vocab) or FILE.src.spm / FILE.tgt.spm the SentencePiece
// models, whose fingerprint the options remember (a model that is not the checkpoint's is an error).
// Metrics: BLEU on lowercased word tokens, sacreBLEU's default BLEU and chrF on detokenised text
// (data/sacrebleu.hpp), the <unk> rate of the output.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "../common/cli.hpp"
#include "../common/metrics.hpp"
#include "../common/replicas.hpp"
#include "../common/plot.hpp"
#include "../common/progress.hpp"
#include "../common/run_checkpoint.hpp"
#include "../common/train_loop.hpp"
#include "setup.hpp"
#include <tapenet/autograd/parallel_batch.hpp>
#include <tapenet/io/atomic_file.hpp>
#include <tapenet/optim/checkpoint.hpp>
#include <tapenet/optim/optimizer.hpp>

extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own call (cblas.h has no portable one)

using namespace tapenet;
namespace td = tapenet::data;
using Specials = td::Seq2SeqSpecials;
using namespace nmt;

namespace {

const char* kUsage = R"(usage: translate train|eval|translate [options]
data:
  --data PATH            tab-separated pairs (eng-fra.txt: English<TAB>French); default: synthetic numbers
  --direction D          fra-eng (default) or eng-fra: source-target on eng-fra.txt
  --train F --valid F --test F   fixed splits instead of --data: tab-separated files
  --train-source F --train-target F (likewise valid, test)   or aligned files per split
  --source-column N      the source column of tab-separated lines (0 or 1; default from
                         --direction: fra-eng 1, eng-fra 0)
  --tutorial-filter      the PyTorch tutorial's set: < 10 tokens per side, English prefixes, 90/10 split
  --max-len N            keep pairs with at most N tokens per side (0: no limit; tutorial: 9)
  --min-count N          words seen fewer times in training become <unk> (default 1)
  --subwords none|bpe|unigram   SentencePiece subwords trained on the training split (default none:
                         words); the model(s) are stored beside the checkpoint, outputs decoded to text
  --vocab-size N         pieces per subword model (default 8000)  --joint-vocab  one model for both sides
  --malformed skip|reject  a line without exactly one tab, with an empty side or invalid
                         UTF-8: counted and skipped (default), or an error naming file:line
  --lowercase yes|no     lowercase the text (default yes with words, no with subwords)
  --synthetic-size N     pairs of the synthetic task (default 6000)
  --seed N               split, initialisation and batches (default 1)
model:
  --cell gru|lstm  --embedding N  --hidden N  --layers N  --bidirectional
  --attention additive|dot|general|fixed|none  (fixed: Cho's context, none: Sutskever)
  --dropout P
training:
  --epochs N  --batch N  --lr X  --lr-decay X (per epoch after --decay-after N)  --clip X
  --teacher-forcing P    probability of feeding the gold token (default 1)
  --batch-chunks G       each minibatch cut into G sub-batches, one tape each: the unit of
                         parallel work for --threads and for ranks under mpirun (G >= ranks);
                         a given G gives the same figures on any number of them (default 1)
  --threads N            threads for the sub-batches (default 1)
  --blas-threads N       OpenBLAS threads (default 1: the small GEMMs here gain nothing from more,
                         and busy-waiting BLAS threads are very slow on a loaded machine)
  --max-minutes X        stop training after X minutes (checkpoint saved), then evaluate
  --checkpoint FILE      (default translate.npz)  --resume
search and output:
  --beam K (default 5)  --length-alpha A (default 0.6: GNMT length penalty)
  --max-output N         output tokens at most (default 30 words, 250 subwords)
  --max-ratio R          also cap each output at ceil(R * source tokens) + 1 tokens (default: off
                         with words, 2 with subwords; 0: off)
  --eval-limit N         evaluate BLEU on the first N test pairs only (0: all)
  --show-attention       translate: print the attention matrix of each sentence; with
                         --plot FILE.svg also draw it (FILE.svg, FILE-2.svg, ... per sentence)
  --plot FILE.svg        train: train/valid perplexity and greedy BLEU by epoch
  --metrics-out FILE     JSON with test_bleu (tokens), test_bleu_sacre, test_chrf, test_unk_rate,
                         test_ppl, sentences_per_s, wall_s, ...
translate:
  --input FILE --output FILE   translate a whole file (batched beam search, sorted by length,
                         written in input order, atomically); without them, stdin line by line
  --nbest K              the K best translations per sentence: "line ||| text ||| score" (K <= beam)
  --batch N              sentences per batch with --input (default 32)
  --keep-unk             words: keep <unk> (default: replaced by the most-attended source word))";

std::string checkpoint_path(const examples::Args& args) { return args.str("checkpoint", "translate.npz"); }

void print_scores(std::ostream& out, const BleuResult& r, const SearchOptions& so) {
  out << "test " << td::to_string(r.score) << "  (tokens; beam " << so.beam << ", alpha " << so.length_alpha << ")\n"
      << "test sacreBLEU " << td::to_string(r.sacre) << "  (13a, mixed case, detokenised)\n"
      << "test chrF2 " << std::fixed << std::setprecision(2) << r.chrf << std::defaultfloat << ", <unk> rate "
      << r.unk_rate << "\n";
}

void set_scores(examples::Metrics& metrics, const BleuResult& r) {
  metrics.set("test_bleu", r.score.bleu);
  metrics.set("test_bleu_sacre", r.sacre.bleu);
  metrics.set("test_chrf", r.chrf);
  metrics.set("test_unk_rate", r.unk_rate);
}

// ---- train --------------------------------------------------------------------------------------

// One training run: the loop's hooks over the model, its optimizer and the data.
class TrainRun {
 public:
  TrainRun(const examples::Args& args, const Settings& s, Dataset& d, std::string ckpt)
      : args_(args), s_(s), d_(d), ckpt_(std::move(ckpt)), init_rng_(s.seed),
        model_(model_options(s, d.vocabs), init_rng_), opt_(model_.parameters(), AdamOptions().with_lr(float(s.lr))),
        threads_(int(args.integer("threads", 1))),
        batch_chunks_(std::size_t(std::max(1L, args.integer("batch-chunks", 1)))),
        plot_(args.str("plot"), {"epoch", "perplexity", "translate: " + (s.data == "-" ? s.train : s.data), "BLEU"}) {
    opt_.set_clip_norm(float(s.clip));
    std::cerr << "model: " << model_.parameter_count() << " parameters\n";
  }

  void resume(const std::string& path, const examples::LoopState& loop, const std::string& curves) {
    state_ = loop;
    plot_.restore(curves, double(loop.epoch));
    opt_.load_state_dict(load_checkpoint(path, model_.parameters()));
    std::cerr << "resumed from " << ckpt_ << " at epoch " << loop.epoch + 1 << ", batch " << loop.batch << "\n";
  }

  examples::LoopOutcome train(const examples::ConfigValues& config) {
    const std::size_t per_epoch = d_.split.train.size();
    examples::LoopOptions lo;
    lo.epochs = s_.epochs;
    lo.save_every_seconds = 60;
    lo.max_seconds = args_.num("max-minutes", 0) * 60;
    lo.unit = "sent";
    lo.total_items = double((s_.epochs - std::min(s_.epochs, state_.epoch)) * per_epoch -
                            std::min(per_epoch, state_.batch * s_.batch));
    examples::LoopHooks hooks;
    hooks.start_epoch = [&](std::size_t epoch) { return start_epoch(epoch); };
    hooks.train_batch = [&](const examples::LoopState& st) { return train_batch(st); };
    hooks.status = [&](const examples::LoopState& st) {
      std::ostringstream status;
      status << "epoch " << st.epoch + (st.batch ? 1 : 0) << "/" << s_.epochs << " loss " << std::fixed
             << std::setprecision(3) << smoothed_;
      return status.str();
    };
    hooks.evaluate = [&](const examples::LoopState& st) { return report_epoch(st.epoch); };
    hooks.save = [&](const examples::LoopState& st) {
      save_run(ckpt_, model_.parameters(), opt_.state_dict(), examples::RunRecord{config, st, {{"curves", plot_.record()}}});
    };
    epoch_clock_ = std::chrono::steady_clock::now();
    examples::LoopOutcome outcome = examples::run_training_loop(lo, hooks, state_);
    if (outcome.out_of_time)
      std::cerr << "\nstopping: --max-minutes " << args_.num("max-minutes", 0) << " reached (checkpoint saved)\n";
    return outcome;
  }

  void report(examples::Metrics& metrics, double wall_seconds);

  // Under mpirun: the same options, model and training pairs on every rank.
  void start_replicas(const examples::RunConfig& config) {
    std::uint64_t h = distributed::fingerprint(nullptr, 0);
    for (std::size_t i : d_.split.train) {
      h = distributed::fingerprint(d_.encoded[i].source.data(), d_.encoded[i].source.size() * sizeof(int), h);
      h = distributed::fingerprint(d_.encoded[i].target.data(), d_.encoded[i].target.size() * sizeof(int), h);
    }
    examples::start_replicas(config, model_.parameters(), std::to_string(d_.split.train.size()) +
                                                               " training pairs, fingerprint " + distributed::hex(h));
  }

 private:
  std::size_t start_epoch(std::size_t epoch) {
    opt_.set_lr(float(s_.lr * std::pow(s_.lr_decay, double(epoch >= s_.decay_after ? epoch - s_.decay_after : 0))));
    batches_ = td::length_buckets(d_.encoded, d_.split.train, s_.batch, s_.seed * 1000 + epoch);
    epoch_nll_ = 0;
    epoch_tokens_ = 0;
    return batches_.size();
  }

  // --batch-chunks sub-batches, each on its own tape (the unit of parallel work for the
  // threads and the ranks, summed in chunk order: the same bits for any number of either);
  // the loss is the mean over all target tokens of the batch.
  examples::StepResult train_batch(const examples::LoopState& st) {
    const auto& idx = batches_[st.batch];
    const std::size_t parts = std::max<std::size_t>(1, std::min(batch_chunks_, idx.size()));
    std::vector<std::vector<std::size_t>> sub(parts);
    for (std::size_t i = 0; i < idx.size(); ++i) sub[i * parts / idx.size()].push_back(idx[i]);
    std::size_t tokens = 0;
    for (std::size_t i : idx) tokens += d_.encoded[i].target.size();
    const std::uint64_t step_seed = s_.seed * 1000003 + st.epoch * 100003 + st.batch;
    opt_.zero_grad();
    auto loss_of = [&](Tape<float>& tape, std::size_t p) {
      std::mt19937_64 rng(step_seed * 31 + p);
      Seq2SeqLoss<float> l =
          model_.loss(tape, source_batch(d_, sub[p]), target_ids(d_, sub[p]), s_.teacher_forcing, &rng);
      return l.loss / float(tokens);
    };
    float loss;
    if (parts == 1) {
      Tape<float> tape;
      Var<float> l = loss_of(tape, 0);
      tape.backward(l);
      loss = l.item();
    } else {
      loss = distributed::distributed_chunks<float>(examples::world(), parts, loss_of, model_.parameters(), threads_);
    }
    opt_.step();
    epoch_nll_ += double(loss) * tokens;
    epoch_tokens_ += tokens;
    smoothed_ = smoothed_ == 0 ? loss : 0.98 * smoothed_ + 0.02 * loss;
    return {loss, double(idx.size())};
  }

  // The epoch's line: train and valid perplexity, and a quick greedy BLEU on up to 500
  // held-out pairs to watch progress. Selects nothing: the last epoch's model is kept.
  examples::Evaluation report_epoch(std::size_t epochs_done) {
    if (!examples::on_root()) return {};  // it decides nothing: under mpirun rank 0 alone evaluates
    std::ostringstream line;
    const double train_ppl = epoch_tokens_ ? std::exp(epoch_nll_ / epoch_tokens_) : NAN;
    line << "epoch " << epochs_done << ": train ppl " << std::setprecision(4) << train_ppl;
    plot_.add("train ppl", double(epochs_done), train_ppl);
    if (!d_.split.valid.empty()) {
      const double valid_ppl = evaluate_ppl(model_, d_, d_.split.valid);
      line << ", valid ppl " << valid_ppl;
      plot_.add("valid ppl", double(epochs_done), valid_ppl);
    }
    const auto& held = d_.split.valid.empty() ? d_.split.test : d_.split.valid;
    std::vector<std::size_t> peek(held.begin(), held.begin() + std::ptrdiff_t(std::min<std::size_t>(500, held.size())));
    const BleuResult greedy = evaluate_bleu(model_, d_, peek, decoding_options(args_, s_), true);
    const double bleu = greedy.score.bleu;
    plot_.add(std::string("greedy BLEU (") + (d_.split.valid.empty() ? "test" : "valid") + ")", double(epochs_done),
              bleu, 1);
    plot_.draw();
    line << ", greedy BLEU " << std::setprecision(4) << bleu << " sacreBLEU " << greedy.sacre.bleu << " chrF "
         << greedy.chrf << " ("
         << (d_.split.valid.empty() ? "test" : "valid") << ", " << peek.size() << " pairs), " << std::setprecision(5)
         << std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_clock_).count() << " s";
    std::cerr << line.str() << "\n";
    return {};
  }

  const examples::Args& args_;
  const Settings& s_;
  Dataset& d_;
  std::string ckpt_;
  std::mt19937_64 init_rng_;
  Seq2Seq<float> model_;
  Adam<float> opt_;
  int threads_;
  std::size_t batch_chunks_;
  examples::LoopState state_;
  std::vector<std::vector<std::size_t>> batches_;
  double epoch_nll_ = 0, smoothed_ = 0;
  std::size_t epoch_tokens_ = 0;
  std::chrono::steady_clock::time_point epoch_clock_;
  examples::RunPlot plot_;  // --plot: perplexities and greedy BLEU by epoch
};

// The final evaluation on the test split.
void TrainRun::report(examples::Metrics& metrics, double wall_seconds) {
  const Decoding decoding = decoding_options(args_, s_);
  const SearchOptions& so = decoding.search;
  std::vector<std::size_t> test = d_.split.test;
  const std::size_t limit = std::size_t(args_.integer("eval-limit", 0));
  if (limit && test.size() > limit) test.resize(limit);
  const double ppl = evaluate_ppl(model_, d_, d_.split.test);
  BleuResult beam = evaluate_bleu(model_, d_, test, decoding, false);
  BleuResult greedy = evaluate_bleu(model_, d_, test, decoding, true);
  std::cout << "test perplexity " << ppl << "\n";
  print_scores(std::cout, beam, so);
  std::cout << "test greedy " << td::to_string(greedy.score) << "\n";
  for (std::size_t i = 0; i < std::min<std::size_t>(5, beam.order.size()); ++i) {
    const auto& p = d_.pairs[beam.order[i * beam.order.size() / 5]];
    std::cout << "  > " << p.source_text << "\n  = " << p.target_text << "\n  < "
              << beam.texts[i * beam.order.size() / 5] << "\n";
  }
  set_scores(metrics, beam);
  metrics.set("test_bleu_greedy", greedy.score.bleu);
  metrics.set("test_ppl", ppl);
  metrics.set("sentences_per_s", state_.train_seconds > 0 ? state_.items / state_.train_seconds : 0);
  metrics.set("wall_s", wall_seconds);
  metrics.set("train_seconds_total", state_.train_seconds);
  metrics.set("epochs_done", double(state_.epoch));
  metrics.set("train_pairs", double(d_.split.train.size()));
  metrics.set("test_pairs", double(test.size()));
  metrics.set("parameters", double(model_.parameter_count()));
  metrics.set("beam", double(so.beam));
}

int train(const examples::Args& args) {
  const auto clock_start = std::chrono::steady_clock::now();
  const std::string ckpt = checkpoint_path(args);
  const bool resume = args.has("resume");
  // Under mpirun the other ranks read copies of rank 0's files (examples/common/replicas.hpp).
  const std::string resume_path = resume ? examples::readable_everywhere(ckpt) : ckpt;
  examples::RunRecord saved;
  if (resume) saved = examples::read_run_record(resume_path, {"curves"});
  examples::RunConfig config(args, resume ? &saved.config : nullptr);
  const Settings s = read_settings(config, true);
  const long batch_chunks = config.integer("batch-chunks", 1, examples::Policy::Fixed);
  if (batch_chunks < 1) throw std::invalid_argument("--batch-chunks must be at least 1");
  if (examples::world().distributed() && batch_chunks < examples::world().size())
    throw std::invalid_argument(std::to_string(examples::world().size()) + " ranks need --batch-chunks >= " +
                                std::to_string(examples::world().size()) +
                                "; the same --batch-chunks gives the same figures on any number of ranks");
  Dataset d = load_data(s, !resume);
  std::string fingerprint;  // of the subword model(s), remembered by the checkpoint
  if (resume) {
    const auto saved_fingerprint = config.saved("subword-model");
    fingerprint = saved_fingerprint ? saved_fingerprint->text : "";
    for (const std::string& f : subword_files(s, ckpt)) examples::readable_everywhere(f);
    load_subwords(s, d, resume_path, fingerprint);
  } else if (s.subwords != "none") {
    train_subwords(s, d);
    fingerprint = save_subwords(s, d, ckpt);
  }
  config.set("subword-model", examples::ConfigValue::string(fingerprint));
  apply_subwords(d, !resume);
  if (resume) {
    for (const char* side : {".src.vocab", ".tgt.vocab"}) examples::readable_everywhere(ckpt + side);
    d.vocabs.source = td::Vocab::load(resume_path + ".src.vocab");
    d.vocabs.target = td::Vocab::load(resume_path + ".tgt.vocab");
  } else if (examples::on_root()) {
    d.vocabs.source.save(ckpt + ".src.vocab");
    d.vocabs.target.save(ckpt + ".tgt.vocab");
  }
  encode(d);
  std::cerr << "pairs: " << d.split.train.size() << " train, " << d.split.valid.size() << " valid, "
            << d.split.test.size() << " test; vocab " << d.vocabs.source.size() << " source, "
            << d.vocabs.target.size() << " target\n";
  TrainRun run(args, s, d, ckpt);
  if (resume) run.resume(resume_path, saved.loop, saved.texts.at("curves"));
  run.start_replicas(config);
  run.train(config.values());
  examples::Metrics metrics;
  if (examples::on_root())  // the final test decides nothing: under mpirun rank 0 alone runs it
    run.report(metrics, std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count());
  metrics.write(args.str("metrics-out"));
  return 0;
}

// ---- eval and translate ---------------------------------------------------------------------------

struct Loaded {
  Settings settings;
  Dataset data;  // no pairs: the vocabularies, the subword models and the word options
  std::unique_ptr<Seq2Seq<float>> model;
};

// The model of a checkpoint; options given on the command line must match its own.
Loaded load_model(const examples::Args& args) {
  const std::string ckpt = checkpoint_path(args);
  const examples::RunRecord saved = examples::read_run_record(ckpt);
  examples::RunConfig config(args, &saved.config);
  Loaded l;
  l.settings = read_settings(config, false);
  l.data = empty_data(l.settings);
  const auto fingerprint = saved.config.find("subword-model");
  load_subwords(l.settings, l.data, ckpt, fingerprint == saved.config.end() ? "" : fingerprint->second.text);
  l.data.vocabs.source = td::Vocab::load(ckpt + ".src.vocab");
  l.data.vocabs.target = td::Vocab::load(ckpt + ".tgt.vocab");
  if (l.data.subwords() && (l.data.vocabs.source.size() != l.data.source_model->size() + Specials::kCount - 1 ||
                            l.data.vocabs.target.size() != l.data.target_model->size() + Specials::kCount - 1))
    throw std::invalid_argument("the vocabularies beside " + ckpt + " do not match its subword model(s)");
  std::mt19937_64 rng(0);
  l.model = std::make_unique<Seq2Seq<float>>(model_options(l.settings, l.data.vocabs), rng);
  load_checkpoint(ckpt, l.model->parameters());
  l.model->eval();
  return l;
}

int eval(const examples::Args& args) {
  Loaded l = load_model(args);
  examples::Progress clock(1, "eval");
  Dataset d = load_data(l.settings, false);
  d.vocabs = l.data.vocabs;
  d.source_model = l.data.source_model;
  d.target_model = l.data.target_model;
  apply_subwords(d, false);
  encode(d);
  const Decoding decoding = decoding_options(args, l.settings);
  std::vector<std::size_t> test = d.split.test;
  const std::size_t limit = std::size_t(args.integer("eval-limit", 0));
  if (limit && test.size() > limit) test.resize(limit);
  const double ppl = evaluate_ppl(*l.model, d, d.split.test);
  BleuResult beam = evaluate_bleu(*l.model, d, test, decoding, false);
  std::cout << "test pairs " << test.size() << "\ntest perplexity " << ppl << "\n";
  print_scores(std::cout, beam, decoding.search);
  examples::Metrics metrics;
  set_scores(metrics, beam);
  metrics.set("test_ppl", ppl);
  metrics.set("test_pairs", double(test.size()));
  metrics.set("sentences_per_s", test.size() / std::max(1e-9, clock.seconds_since_start()));
  metrics.set("wall_s", clock.seconds_since_start());
  metrics.write(args.str("metrics-out"));
  return 0;
}

std::size_t lead_count(const std::string& s) {
  std::size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// `word` right-aligned in `width` columns, cut to width - 1 code points (never inside a UTF-8 sequence).
std::string cell(const std::string& word, std::size_t width) {
  std::string out;
  std::size_t points = 0;
  for (std::size_t i = 0; i < word.size(); ++i) {
    const bool lead = (static_cast<unsigned char>(word[i]) & 0xC0) != 0x80;
    if (lead && ++points == width) break;
    out += word[i];
  }
  if (lead_count(out) < width) out.insert(0, width - lead_count(out), ' ');
  return out;
}

// --show-attention --plot FILE.svg: the attention of each translated sentence as a heat map,
// output words down, source words across; FILE.svg for the first, FILE-2.svg, ... after.
void write_attention_plot(const std::string& path, std::size_t sentence, const std::vector<std::vector<double>>& m,
                          const Hypothesis& h, const td::Vocab& target, const td::Tokens& source_words) {
  std::string file = path;
  if (sentence > 1) {
    const auto dot = path.rfind(".svg");
    file = (dot == std::string::npos ? path : path.substr(0, dot)) + "-" + std::to_string(sentence) + ".svg";
  }
  std::vector<std::string> rows;
  for (std::size_t t = 0; t < m.size(); ++t)
    rows.push_back(h.tokens[t] == Specials::kEos ? Specials::kEosToken : target.word(int(h.tokens[t])));
  examples::write_heat_map(file, m, rows, source_words, "attention: " + td::join_tokens(source_words));
}

// One source sentence ready for the model: its tokens (words or pieces) and ids (<eos> last).
struct Source {
  td::Tokens tokens;
  std::vector<std::int64_t> ids;
};

// Throws when the sentence has more word tokens than the checkpoint's --max-len.
Source prepare_source(const Loaded& l, const std::string& line, std::size_t line_no) {
  const std::size_t max_len = l.settings.max_len;
  if (max_len > 0) {
    const std::size_t words = l.data.word_tokens(line).size();
    if (words > max_len)
      throw std::invalid_argument("input line " + std::to_string(line_no) + " has " + std::to_string(words) +
                                  " tokens, more than the checkpoint's --max-len " + std::to_string(max_len));
  }
  Source s;
  s.tokens = l.data.source_tokens(line);
  s.ids = to_ids(td::encode_sentence(l.data.vocabs.source, s.tokens));
  return s;
}

// The output tokens of a hypothesis. Words (unless --keep-unk): each <unk> becomes the source
// word its step attended to most (Luong et al. 2015's unknown-word replacement; the source's
// <eos> is never chosen). Needs attention; other models keep <unk>.
td::Tokens output_tokens(const Loaded& l, const Source& src, const Hypothesis& h, bool replace_unk) {
  td::Tokens out = td::decode_sentence(l.data.vocabs.target, std::vector<int>(h.tokens.begin(), h.tokens.end()));
  if (!replace_unk || l.data.subwords() || src.tokens.empty() ||
      std::find(h.tokens.begin(), h.tokens.end(), std::int64_t(Specials::kUnk)) == h.tokens.end())
    return out;
  const auto m = l.model->attention_matrix(src.ids, h.tokens, Specials::kSos);
  if (m.empty()) return out;
  for (std::size_t t = 0, o = 0; t < h.tokens.size() && o < out.size(); ++t) {
    const std::int64_t y = h.tokens[t];
    if (y == Specials::kEos) break;
    if (y == Specials::kPad || y == Specials::kSos) continue;
    if (y == Specials::kUnk) {
      const auto& row = m[t];
      const auto best = std::max_element(row.begin(), row.begin() + std::ptrdiff_t(src.tokens.size()));
      out[o] = src.tokens[std::size_t(best - row.begin())];
    }
    ++o;
  }
  return out;
}

std::size_t nbest_option(const examples::Args& args, const Decoding& decoding) {
  const long n = args.integer("nbest", 1);
  if (n < 1 || std::size_t(n) > decoding.search.beam)
    throw std::invalid_argument("--nbest " + std::to_string(n) + " needs 1 <= K <= --beam (" +
                                std::to_string(decoding.search.beam) + ")");
  return std::size_t(n);
}

void write_nbest(std::ostream& out, std::size_t line, const std::vector<std::string>& texts,
                 const std::vector<Hypothesis>& hyps) {
  for (std::size_t k = 0; k < hyps.size(); ++k)
    out << line << " ||| " << texts[k] << " ||| " << std::fixed << std::setprecision(4) << hyps[k].score
        << std::defaultfloat << "\n";
}

// --input FILE --output FILE: the whole file, batched (sorted by source length), written in
// input order once every sentence is translated. Empty lines stay empty.
int translate_file(const examples::Args& args, const Loaded& l, const Decoding& decoding) {
  const std::string input = args.str("input", "-"), output = args.str("output", "-");
  std::ifstream file;
  if (input != "-") {
    file.open(input);
    if (!file) throw std::runtime_error("cannot open " + input);
  }
  std::istream& in = input == "-" ? std::cin : file;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  const std::size_t nbest = nbest_option(args, decoding);
  const bool replace_unk = !args.has("keep-unk");
  std::vector<Source> sources(lines.size());
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (td::split_on_spaces(lines[i]).empty()) continue;
    sources[i] = prepare_source(l, lines[i], i + 1);  // every error before any output
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sources[a].ids.size() < sources[b].ids.size(); });
  const std::size_t batch_size = std::size_t(std::max(1L, args.integer("batch", 32)));
  std::vector<std::vector<Hypothesis>> hyps(lines.size());
  std::vector<std::vector<std::string>> texts(lines.size());
  examples::Progress progress(order.size(), "sent");
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    const std::size_t end = std::min(order.size(), start + batch_size);
    std::vector<std::vector<std::int64_t>> ids;
    for (std::size_t j = start; j < end; ++j) ids.push_back(sources[order[j]].ids);
    const SourceBatch src = make_source_batch(ids, Specials::kPad);
    std::vector<std::vector<Hypothesis>> best = l.model->beam_nbest(src, decoding.for_batch(src), nbest);
    for (std::size_t j = start; j < end; ++j) {
      const std::size_t i = order[j];
      hyps[i] = std::move(best[j - start]);
      for (const Hypothesis& h : hyps[i]) texts[i].push_back(l.data.output_text(output_tokens(l, sources[i], h, replace_unk)));
    }
    progress.update(end);
  }
  std::ostringstream out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (nbest > 1) write_nbest(out, i, texts[i], hyps[i]);
    else out << (texts[i].empty() ? "" : texts[i][0]) << "\n";
  }
  if (output == "-") {
    std::cout << out.str();
  } else {
    AtomicFile f(output);
    f.write(out.str());
    f.commit();
  }
  const double seconds = progress.seconds_since_start();
  std::cerr << "translated " << order.size() << " sentences in " << std::setprecision(3) << seconds << " s ("
            << std::setprecision(4) << double(order.size()) / std::max(seconds, 1e-9) << " sentences/s)\n";
  return 0;
}

int translate(const examples::Args& args) {
  Loaded l = load_model(args);
  const Decoding decoding = decoding_options(args, l.settings);
  if (args.has("input") || args.has("output")) {
    if (args.has("show-attention")) throw std::invalid_argument("--show-attention translates stdin line by line: drop --input/--output");
    return translate_file(args, l, decoding);
  }
  const std::size_t nbest = nbest_option(args, decoding);
  const bool replace_unk = !args.has("keep-unk");
  std::string line;
  for (std::size_t sentence = 1, line_no = 1; std::getline(std::cin, line); ++line_no) {
    if (td::split_on_spaces(line).empty()) continue;
    const Source src = prepare_source(l, line, line_no);
    const SourceBatch batch = make_source_batch({src.ids}, Specials::kPad);
    const std::vector<Hypothesis> hyps = l.model->beam_nbest(batch, decoding.for_batch(batch), nbest)[0];
    if (hyps.empty()) {
      std::cout << "\n";
      continue;
    }
    if (nbest > 1) {
      std::vector<std::string> texts;
      for (const Hypothesis& h : hyps) texts.push_back(l.data.output_text(output_tokens(l, src, h, replace_unk)));
      write_nbest(std::cout, line_no - 1, texts, hyps);
    } else {
      std::cout << l.data.output_text(output_tokens(l, src, hyps[0], replace_unk)) << "\n";
    }
    const Hypothesis& h = hyps[0];
    if (args.has("show-attention")) {
      auto m = l.model->attention_matrix(src.ids, h.tokens, Specials::kSos);
      if (m.empty()) {
        std::cout << "(no attention in this model)\n";
        continue;
      }
      td::Tokens cols = src.tokens;
      cols.push_back(Specials::kEosToken);
      if (args.has("plot")) write_attention_plot(args.str("plot"), sentence++, m, h, l.data.vocabs.target, cols);
      std::cout << std::string(12, ' ');
      for (const auto& c : cols) std::cout << cell(c, 8);
      std::cout << "\n";
      for (std::size_t t = 0; t < m.size(); ++t) {
        const std::string row = h.tokens[t] == Specials::kEos ? Specials::kEosToken : l.data.vocabs.target.word(int(h.tokens[t]));
        std::cout << cell(row, 12);
        for (double w : m[t]) std::cout << std::setw(8) << std::fixed << std::setprecision(2) << w;
        std::cout << std::defaultfloat << "\n";
      }
      std::cout << "\n";
    }
  }
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]).rfind("--", 0) == 0) {
    if (argc >= 2 && std::string(argv[1]) == "--help") {
      std::cout << kUsage << "\n";
      return 0;
    }
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = argv[1];
  examples::Args args(argc - 1, argv + 1,
                      {"data", "train", "valid", "test", "train-source", "train-target", "valid-source",
                       "valid-target", "test-source", "test-target", "source-column", "plot", "direction", "tutorial-filter", "max-len", "min-count", "synthetic-size", "seed", "cell",
                       "embedding", "hidden", "layers", "bidirectional", "attention", "dropout", "epochs", "batch",
                       "lr", "lr-decay", "blas-threads", "decay-after", "clip", "teacher-forcing", "threads", "max-minutes",
                       "checkpoint", "resume", "beam", "length-alpha", "max-output", "eval-limit", "show-attention",
                       "metrics-out", "subwords", "vocab-size", "joint-vocab", "lowercase", "max-ratio", "input",
                       "output", "nbest", "keep-unk", "batch-chunks", "malformed"},
                      {"tutorial-filter", "bidirectional", "resume", "show-attention", "joint-vocab", "keep-unk"},
                      kUsage);
  openblas_set_num_threads(int(args.integer("blas-threads", 1)));
  if (command == "train") return train(args);
  if (command != "eval" && command != "translate") {
    std::cerr << "unknown command '" << command << "'\n" << kUsage << "\n";
    return 2;
  }
  examples::require_one_process("translate " + command);
  return command == "eval" ? eval(args) : translate(args);
}

}  // namespace

int main(int argc, char** argv) { return tapenet::examples::run_example("translate", argc, argv, run); }
