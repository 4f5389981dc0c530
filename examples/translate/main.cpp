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
// Without --data: a built-in task, English number words -> digits ("forty two" -> "4 2").
// The checkpoint FILE (.npz) has two companions: FILE.cfg (model and data options) and
// FILE.src.vocab / FILE.tgt.vocab.
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
#include "../common/progress.hpp"
#include "autograd/parallel_batch.hpp"
#include "data/bleu.hpp"
#include "data/pairs.hpp"
#include "layers/seq2seq.hpp"
#include "optim/checkpoint.hpp"
#include "optim/optimizer.hpp"

extern "C" void openblas_set_num_threads(int);  // OpenBLAS's own call (cblas.h has no portable one)

using namespace tapenet;
namespace td = tapenet::data;
using Specials = td::Seq2SeqSpecials;

namespace {

const char* kUsage = R"(usage: translate train|eval|translate [options]
data:
  --data PATH            tab-separated pairs (eng-fra.txt: English<TAB>French); default: synthetic numbers
  --direction D          fra-eng (default) or eng-fra: source-target on eng-fra.txt
  --tutorial-filter      the PyTorch tutorial's set: < 10 tokens per side, English prefixes, 90/10 split
  --max-len N            keep pairs with at most N tokens per side (0: no limit; tutorial: 9)
  --min-count N          words seen fewer times in training become <unk> (default 1)
  --synthetic-size N     pairs of the synthetic task (default 6000)
  --seed N               split, initialisation and batches (default 1)
model:
  --cell gru|lstm  --embedding N  --hidden N  --layers N  --bidirectional
  --attention additive|dot|general|fixed|none  (fixed: Cho's context, none: Sutskever)
  --dropout P
training:
  --epochs N  --batch N  --lr X  --lr-decay X (per epoch after --decay-after N)  --clip X
  --teacher-forcing P    probability of feeding the gold token (default 1)
  --threads N            sub-batches trained in parallel (default 1)
  --blas-threads N       OpenBLAS threads (default 1: the small GEMMs here gain nothing from more,
                         and busy-waiting BLAS threads are very slow on a loaded machine)
  --max-minutes X        stop training after X minutes (checkpoint saved), then evaluate
  --checkpoint FILE      (default translate.npz)  --resume
search and output:
  --beam K (default 5)  --length-alpha A (default 0.6)  --max-output N (default 30)
  --eval-limit N         evaluate BLEU on the first N test pairs only (0: all)
  --show-attention       translate: print the attention matrix of each sentence
  --metrics-out FILE     JSON with test_bleu, test_ppl, sentences_per_s, wall_s, ...)";

// ---- configuration, saved beside the checkpoint -------------------------------------------------

struct Config {
  std::map<std::string, std::string> values;
  std::string get(const std::string& k, const std::string& fallback) const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
  double num(const std::string& k, double fallback) const {
    auto it = values.find(k);
    return it == values.end() ? fallback : std::stod(it->second);
  }
  void save(const std::string& path) const {
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp);
      for (const auto& [k, v] : values) out << k << " " << v << "\n";
      if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp);
  }
  static Config load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path + " (train first, with the same --checkpoint)");
    Config c;
    std::string line;
    while (std::getline(in, line)) {
      const auto sp = line.find(' ');
      if (sp != std::string::npos) c.values[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return c;
  }
};

// Options that define the data and the model: from the command line when training afresh,
// from FILE.cfg otherwise (the command line may not change them).
const std::vector<std::string> kModelKeys = {"data", "direction", "tutorial-filter", "max-len", "min-count",
                                             "synthetic-size", "seed", "cell", "embedding", "hidden",
                                             "layers", "bidirectional", "attention", "dropout"};

Config config_from_args(const examples::Args& args) {
  Config c;
  const bool tutorial = args.has("tutorial-filter");
  c.values["data"] = args.str("data", "-");
  c.values["direction"] = args.str("direction", "fra-eng");
  c.values["tutorial-filter"] = tutorial ? "1" : "0";
  c.values["max-len"] = std::to_string(args.integer("max-len", tutorial ? 9 : 0));
  c.values["min-count"] = std::to_string(args.integer("min-count", 1));
  c.values["synthetic-size"] = std::to_string(args.integer("synthetic-size", 6000));
  c.values["seed"] = std::to_string(args.integer("seed", 1));
  c.values["cell"] = args.str("cell", "gru");
  c.values["embedding"] = std::to_string(args.integer("embedding", 128));
  c.values["hidden"] = std::to_string(args.integer("hidden", 128));
  c.values["layers"] = std::to_string(args.integer("layers", 1));
  c.values["bidirectional"] = args.has("bidirectional") ? "1" : "0";
  c.values["attention"] = args.str("attention", "additive");
  c.values["dropout"] = args.str("dropout", "0.1");
  return c;
}

// ---- the synthetic task: number words -> digits --------------------------------------------------

td::Tokens number_words(int n) {
  static const char* ones[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                               "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                               "seventeen", "eighteen", "nineteen"};
  static const char* tens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
  td::Tokens w;
  auto below_thousand = [&](int x) {
    if (x >= 100) {
      w.push_back(ones[x / 100]);
      w.push_back("hundred");
      x %= 100;
      if (x) w.push_back("and");
    }
    if (x >= 20) {
      w.push_back(tens[x / 10]);
      if (x % 10) w.push_back(ones[x % 10]);
    } else if (x > 0) {
      w.push_back(ones[x]);
    }
  };
  if (n == 0) return {"zero"};
  if (n >= 1000) {
    below_thousand(n / 1000);
    w.push_back("thousand");
  }
  below_thousand(n % 1000);
  return w;
}

std::vector<td::SentencePair> synthetic_pairs(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> digits(1, 6);
  std::vector<td::SentencePair> pairs;
  for (std::size_t i = 0; i < count; ++i) {
    const int d = digits(rng);  // numbers of 1..6 digits, roughly evenly
    int lo = d == 1 ? 0 : int(std::pow(10, d - 1)), hi = int(std::pow(10, d)) - 1;
    const int n = std::uniform_int_distribution<int>(lo, hi)(rng);
    td::SentencePair p;
    p.source = number_words(n);
    for (char ch : std::to_string(n)) p.target.push_back(std::string(1, ch));
    p.line = i + 1;
    pairs.push_back(std::move(p));
  }
  return pairs;
}

// ---- data ---------------------------------------------------------------------------------------

struct Dataset {
  std::vector<td::SentencePair> pairs;
  td::DataSplit split;
  td::PairVocabs vocabs;
  std::vector<td::EncodedPair> encoded;
};

Dataset load_data(const Config& cfg, bool build_vocabs) {
  Dataset d;
  const std::string path = cfg.get("data", "-");
  const auto seed = std::uint64_t(cfg.num("seed", 1));
  const bool tutorial = cfg.get("tutorial-filter", "0") == "1";
  td::SplitFractions fractions;
  if (path == "-") {
    d.pairs = synthetic_pairs(std::size_t(cfg.num("synthetic-size", 6000)), seed + 77);
  } else {
    td::PairReadOptions o;
    const std::string dir = cfg.get("direction", "fra-eng");
    if (dir != "fra-eng" && dir != "eng-fra") throw std::invalid_argument("--direction must be fra-eng or eng-fra");
    o.source_column = dir == "fra-eng" ? 1 : 0;
    o.english_column = 0;
    o.max_tokens = std::size_t(cfg.num("max-len", 0));
    o.english_prefix_filter = tutorial;
    td::PairCorpus corpus = td::read_pairs(path, o);
    const auto& r = corpus.report;
    std::cerr << path << ": " << r.lines << " lines, kept " << r.kept << " pairs (" << r.too_long << " too long, "
              << r.no_english_prefix << " without an English prefix, " << r.malformed() << " malformed)\n";
    d.pairs = std::move(corpus.pairs);
  }
  if (tutorial) fractions = {0.9, 0.0, 0.1};
  d.split = td::split_indices(d.pairs.size(), seed, fractions);
  if (build_vocabs) d.vocabs = td::build_pair_vocabs(d.pairs, d.split.train, std::size_t(cfg.num("min-count", 1)));
  return d;
}

void encode(Dataset& d) { d.encoded = td::encode_pairs(d.pairs, d.vocabs); }

std::vector<std::int64_t> to_ids(const std::vector<int>& v) { return {v.begin(), v.end()}; }

SourceBatch source_batch(const Dataset& d, const std::vector<std::size_t>& idx) {
  std::vector<std::vector<std::int64_t>> s;
  for (std::size_t i : idx) s.push_back(to_ids(d.encoded[i].source));
  return make_source_batch(s, Specials::kPad);
}

// Time-major targets y_1 .. y_n <eos>, -100 at padding.
std::vector<std::int64_t> target_ids(const Dataset& d, const std::vector<std::size_t>& idx) {
  std::size_t T = 0;
  for (std::size_t i : idx) T = std::max(T, d.encoded[i].target.size());
  std::vector<std::int64_t> y(T * idx.size(), -100);
  for (std::size_t b = 0; b < idx.size(); ++b)
    for (std::size_t t = 0; t < d.encoded[idx[b]].target.size(); ++t) y[t * idx.size() + b] = d.encoded[idx[b]].target[t];
  return y;
}

// ---- model --------------------------------------------------------------------------------------

Seq2SeqOptions model_options(const Config& cfg, const td::PairVocabs& vocabs) {
  Seq2SeqOptions o;
  o.source_vocab = vocabs.source.size();
  o.target_vocab = vocabs.target.size();
  o.embedding = std::size_t(cfg.num("embedding", 128));
  o.hidden = std::size_t(cfg.num("hidden", 128));
  o.layers = std::size_t(cfg.num("layers", 1));
  o.bidirectional = cfg.get("bidirectional", "0") == "1";
  o.cell = parse_cell(cfg.get("cell", "gru"));
  o.dropout = cfg.num("dropout", 0.1);
  o.start_token = Specials::kSos;
  const std::string a = cfg.get("attention", "additive");
  if (a == "none") o.context = ContextKind::None;
  else if (a == "fixed") o.context = ContextKind::Fixed;
  else o.attention = parse_attention(a);
  return o;
}

SearchOptions search_options(const examples::Args& args) {
  return SearchOptions()
      .with_start(Specials::kSos)
      .with_eos(Specials::kEos)
      .with_beam(std::size_t(args.integer("beam", 5)))
      .with_length_alpha(args.num("length-alpha", 0.6))
      .with_max_length(std::size_t(args.integer("max-output", 30)));
}

// Batches of consecutive indices (sorted by source length first, for less padding).
std::vector<std::vector<std::size_t>> eval_batches(const Dataset& d, std::vector<std::size_t> idx, std::size_t size) {
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return d.encoded[a].source.size() < d.encoded[b].source.size(); });
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < idx.size(); i += size)
    out.emplace_back(idx.begin() + std::ptrdiff_t(i), idx.begin() + std::ptrdiff_t(std::min(idx.size(), i + size)));
  return out;
}

double evaluate_ppl(Seq2Seq<float>& model, const Dataset& d, const std::vector<std::size_t>& idx) {
  if (idx.empty()) return NAN;
  model.eval();
  NoGradGuard no_grad;
  double nll = 0;
  std::size_t tokens = 0;
  std::mt19937_64 rng(0);
  for (const auto& batch : eval_batches(d, idx, 128)) {
    Tape<float> tape;
    Seq2SeqLoss<float> l = model.loss(tape, source_batch(d, batch), target_ids(d, batch), rng);
    nll += l.loss.item();
    tokens += l.tokens;
  }
  model.train();
  return td::perplexity(nll, tokens);
}

struct BleuResult {
  td::BleuScore score;
  std::vector<std::size_t> order;
  std::vector<td::Tokens> hypotheses;
};

BleuResult evaluate_bleu(Seq2Seq<float>& model, const Dataset& d, std::vector<std::size_t> idx, const SearchOptions& so,
                         bool greedy) {
  model.eval();
  BleuResult r;
  std::vector<td::Tokens> refs;
  for (const auto& batch : eval_batches(d, idx, greedy ? 128 : 32)) {
    SourceBatch src = source_batch(d, batch);
    std::vector<Hypothesis> hyps = greedy ? model.greedy(src, so) : model.beam(src, so);
    for (std::size_t b = 0; b < batch.size(); ++b) {
      r.order.push_back(batch[b]);
      r.hypotheses.push_back(td::decode_sentence(d.vocabs.target, std::vector<int>(hyps[b].tokens.begin(), hyps[b].tokens.end())));
      refs.push_back(d.pairs[batch[b]].target);
    }
  }
  model.train();
  r.score = td::corpus_bleu(r.hypotheses, refs);
  return r;
}

std::string checkpoint_path(const examples::Args& args) { return args.str("checkpoint", "translate.npz"); }

// ---- train --------------------------------------------------------------------------------------

int train(const examples::Args& args) {
  const std::string ckpt = checkpoint_path(args);
  const bool resume = args.has("resume");
  Config cfg = resume ? Config::load(ckpt + ".cfg") : config_from_args(args);
  if (resume)
    for (const auto& k : kModelKeys)
      if (args.has(k) && args.str(k) != cfg.get(k, "")) {
        const bool flag_same = (k == "tutorial-filter" || k == "bidirectional") && cfg.get(k, "") == "1";
        if (!flag_same) std::cerr << "warning: --" << k << " ignored on --resume (checkpoint has '" << cfg.get(k, "") << "')\n";
      }
  Dataset d = load_data(cfg, !resume);
  if (resume) {
    d.vocabs.source = td::Vocab::load(ckpt + ".src.vocab");
    d.vocabs.target = td::Vocab::load(ckpt + ".tgt.vocab");
  }
  encode(d);
  std::cerr << "pairs: " << d.split.train.size() << " train, " << d.split.valid.size() << " valid, "
            << d.split.test.size() << " test; vocab " << d.vocabs.source.size() << " source, "
            << d.vocabs.target.size() << " target\n";

  const auto seed = std::uint64_t(cfg.num("seed", 1));
  std::mt19937_64 init_rng(seed);
  Seq2Seq<float> model(model_options(cfg, d.vocabs), init_rng);
  std::cerr << "model: " << model.parameter_count() << " parameters\n";
  const float lr = float(args.num("lr", 2e-3));
  Adam<float> opt(model.parameters(), AdamOptions().with_lr(lr));
  opt.set_clip_norm(float(args.num("clip", 5.0)));

  const std::size_t epochs = std::size_t(args.integer("epochs", 10));
  const std::size_t batch_size = std::size_t(args.integer("batch", 32));
  const double lr_decay = args.num("lr-decay", 1.0);
  const std::size_t decay_after = std::size_t(args.integer("decay-after", 0));
  const double tf = args.num("teacher-forcing", 1.0);
  const int threads = int(args.integer("threads", 1));
  const double max_minutes = args.num("max-minutes", 0);
  std::size_t start_epoch = 0, start_batch = 0;
  double total_sentences = 0, train_seconds = 0;
  if (resume) {
    auto state = load_checkpoint(ckpt, model.parameters());
    const std::vector<std::string> own = {"epoch", "batch", "sentences", "train_seconds"};
    start_epoch = std::size_t(state.at("epoch")(0));
    start_batch = std::size_t(state.at("batch")(0));
    total_sentences = state.at("sentences")(0);
    train_seconds = state.at("train_seconds")(0);
    for (const auto& k : own) state.erase(k);
    opt.load_state_dict(state);
    std::cerr << "resumed from " << ckpt << " at epoch " << start_epoch + 1 << ", batch " << start_batch << "\n";
  } else {
    cfg.save(ckpt + ".cfg");
    d.vocabs.source.save(ckpt + ".src.vocab");
    d.vocabs.target.save(ckpt + ".tgt.vocab");
  }
  auto save = [&](std::size_t epoch, std::size_t batch, double seconds) {
    auto state = opt.state_dict();
    state["epoch"] = Tensor<float>({float(epoch)});
    state["batch"] = Tensor<float>({float(batch)});
    state["sentences"] = Tensor<float>({float(total_sentences)});
    state["train_seconds"] = Tensor<float>({float(seconds)});
    save_checkpoint(ckpt, model.parameters(), state);
  };

  const std::size_t per_epoch = d.split.train.size();
  examples::Progress progress((epochs - std::min(epochs, start_epoch)) * per_epoch - std::min(per_epoch, start_batch * batch_size), "sent");
  std::size_t done_this_run = 0;
  double last_save = 0, smoothed = 0;
  bool stopped = false;
  const double seconds_before = train_seconds;
  std::size_t epoch = start_epoch;
  for (; epoch < epochs && !stopped; ++epoch) {
    opt.set_lr(float(lr * std::pow(lr_decay, double(epoch >= decay_after ? epoch - decay_after : 0))));
    const auto batches = td::length_buckets(d.encoded, d.split.train, batch_size, seed * 1000 + epoch);
    std::size_t b0 = epoch == start_epoch ? start_batch : 0;
    double epoch_nll = 0;
    std::size_t epoch_tokens = 0;
    for (std::size_t bi = b0; bi < batches.size(); ++bi) {
      const auto& idx = batches[bi];
      // Sub-batches, one per thread; the loss is the mean over all target tokens of the batch.
      const std::size_t parts = std::max<std::size_t>(1, std::min<std::size_t>(std::size_t(threads), idx.size()));
      std::vector<std::vector<std::size_t>> sub(parts);
      for (std::size_t i = 0; i < idx.size(); ++i) sub[i * parts / idx.size()].push_back(idx[i]);
      std::size_t tokens = 0;
      for (std::size_t i : idx) tokens += d.encoded[i].target.size();
      const std::uint64_t step_seed = seed * 1000003 + epoch * 100003 + bi;
      opt.zero_grad();
      auto loss_of = [&](Tape<float>& tape, std::size_t p) {
        std::mt19937_64 rng(step_seed * 31 + p);
        Seq2SeqLoss<float> l = model.loss(tape, source_batch(d, sub[p]), target_ids(d, sub[p]), rng, tf);
        return l.loss / float(tokens);
      };
      float loss;
      if (parts == 1) {
        Tape<float> tape;
        Var<float> l = loss_of(tape, 0);
        tape.backward(l);
        loss = l.item();
      } else {
        ParallelOptions po;
        po.chunk_size = 1;
        po.threads = threads;
        loss = parallel_batch<float>(parts, loss_of, po);
      }
      opt.step();
      epoch_nll += double(loss) * tokens;
      epoch_tokens += tokens;
      smoothed = smoothed == 0 ? loss : 0.98 * smoothed + 0.02 * loss;
      total_sentences += idx.size();
      done_this_run += idx.size();
      const double now = progress.seconds_since_start();
      train_seconds = seconds_before + now;
      std::ostringstream status;
      status << "epoch " << epoch + 1 << "/" << epochs << " loss " << std::fixed << std::setprecision(3) << smoothed;
      progress.update(done_this_run, status.str());
      const bool out_of_time = max_minutes > 0 && now > max_minutes * 60;
      if (now - last_save > 60 || out_of_time) {
        save(epoch, bi + 1, train_seconds);
        last_save = now;
      }
      if (out_of_time) {
        std::cerr << "\nstopping: --max-minutes " << max_minutes << " reached (checkpoint saved)\n";
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    save(epoch + 1, 0, train_seconds);
    std::ostringstream line;
    line << "epoch " << epoch + 1 << ": train ppl " << std::setprecision(4)
         << (epoch_tokens ? std::exp(epoch_nll / epoch_tokens) : NAN);
    if (!d.split.valid.empty()) line << ", valid ppl " << evaluate_ppl(model, d, d.split.valid);
    // A quick greedy BLEU on up to 500 held-out pairs, to watch progress.
    const auto& held = d.split.valid.empty() ? d.split.test : d.split.valid;
    std::vector<std::size_t> peek(held.begin(), held.begin() + std::ptrdiff_t(std::min<std::size_t>(500, held.size())));
    SearchOptions so = search_options(args);
    line << ", greedy BLEU " << std::setprecision(4) << evaluate_bleu(model, d, peek, so, true).score.bleu << " ("
         << (d.split.valid.empty() ? "test" : "valid") << ", " << peek.size() << " pairs), " << std::setprecision(5)
         << progress.seconds_since_start() << " s";
    std::cerr << line.str() << "\n";
  }
  const double run_seconds = progress.seconds_since_start();
  const double sentences_per_s = train_seconds > 0 ? total_sentences / train_seconds : 0;

  // Final evaluation on the test split.
  examples::Metrics metrics;
  SearchOptions so = search_options(args);
  std::vector<std::size_t> test = d.split.test;
  const std::size_t limit = std::size_t(args.integer("eval-limit", 0));
  if (limit && test.size() > limit) test.resize(limit);
  const double ppl = evaluate_ppl(model, d, d.split.test);
  BleuResult beam = evaluate_bleu(model, d, test, so, false);
  BleuResult greedy = evaluate_bleu(model, d, test, so, true);
  std::cout << "test perplexity " << ppl << "\n"
            << "test " << td::to_string(beam.score) << "  (beam " << so.beam << ", alpha " << so.length_alpha << ")\n"
            << "test greedy " << td::to_string(greedy.score) << "\n";
  for (std::size_t i = 0; i < std::min<std::size_t>(5, beam.order.size()); ++i) {
    const auto& p = d.pairs[beam.order[i * beam.order.size() / 5]];
    std::cout << "  > " << td::join_tokens(p.source) << "\n  = " << td::join_tokens(p.target) << "\n  < "
              << td::join_tokens(beam.hypotheses[i * beam.order.size() / 5]) << "\n";
  }
  metrics.set("test_bleu", beam.score.bleu);
  metrics.set("test_bleu_greedy", greedy.score.bleu);
  metrics.set("test_ppl", ppl);
  metrics.set("sentences_per_s", sentences_per_s);
  metrics.set("wall_s", run_seconds);
  metrics.set("train_seconds_total", train_seconds);
  metrics.set("epochs_done", double(epoch));
  metrics.set("train_pairs", double(d.split.train.size()));
  metrics.set("test_pairs", double(test.size()));
  metrics.set("parameters", double(model.parameter_count()));
  metrics.set("beam", double(so.beam));
  metrics.write(args.str("metrics-out"));
  return 0;
}

// ---- eval and translate ---------------------------------------------------------------------------

struct Loaded {
  Config cfg;
  td::PairVocabs vocabs;
  std::unique_ptr<Seq2Seq<float>> model;
};

Loaded load_model(const std::string& ckpt) {
  Loaded l;
  l.cfg = Config::load(ckpt + ".cfg");
  l.vocabs.source = td::Vocab::load(ckpt + ".src.vocab");
  l.vocabs.target = td::Vocab::load(ckpt + ".tgt.vocab");
  std::mt19937_64 rng(0);
  l.model = std::make_unique<Seq2Seq<float>>(model_options(l.cfg, l.vocabs), rng);
  load_checkpoint(ckpt, l.model->parameters());
  l.model->eval();
  return l;
}

int eval(const examples::Args& args) {
  const std::string ckpt = checkpoint_path(args);
  Loaded l = load_model(ckpt);
  examples::Progress clock(1, "eval");
  Dataset d = load_data(l.cfg, false);
  d.vocabs = l.vocabs;
  encode(d);
  SearchOptions so = search_options(args);
  std::vector<std::size_t> test = d.split.test;
  const std::size_t limit = std::size_t(args.integer("eval-limit", 0));
  if (limit && test.size() > limit) test.resize(limit);
  const double ppl = evaluate_ppl(*l.model, d, d.split.test);
  BleuResult beam = evaluate_bleu(*l.model, d, test, so, false);
  std::cout << "test pairs " << test.size() << "\ntest perplexity " << ppl << "\ntest " << td::to_string(beam.score)
            << "  (beam " << so.beam << ", alpha " << so.length_alpha << ")\n";
  examples::Metrics metrics;
  metrics.set("test_bleu", beam.score.bleu);
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

int translate(const examples::Args& args) {
  Loaded l = load_model(checkpoint_path(args));
  SearchOptions so = search_options(args);
  const bool synthetic = l.cfg.get("data", "-") == "-";
  std::string line;
  while (std::getline(std::cin, line)) {
    td::Tokens words = synthetic ? td::split_on_spaces(line) : td::normalize_tokens(line);
    if (words.empty()) continue;
    std::vector<std::int64_t> src = to_ids(td::encode_sentence(l.vocabs.source, words));
    Hypothesis h = l.model->beam(make_source_batch({src}, Specials::kPad), so)[0];
    td::Tokens out = td::decode_sentence(l.vocabs.target, std::vector<int>(h.tokens.begin(), h.tokens.end()));
    std::cout << td::join_tokens(out) << "\n";
    if (args.has("show-attention")) {
      auto m = l.model->attention_matrix(src, h.tokens, Specials::kSos);
      if (m.empty()) {
        std::cout << "(no attention in this model)\n";
        continue;
      }
      td::Tokens cols = words;
      cols.push_back(Specials::kEosToken);
      std::cout << std::string(12, ' ');
      for (const auto& c : cols) std::cout << cell(c, 8);
      std::cout << "\n";
      for (std::size_t t = 0; t < m.size(); ++t) {
        const std::string row = h.tokens[t] == Specials::kEos ? Specials::kEosToken : l.vocabs.target.word(int(h.tokens[t]));
        std::cout << cell(row, 12);
        for (double w : m[t]) std::cout << std::setw(8) << std::fixed << std::setprecision(2) << w;
        std::cout << "\n";
      }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
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
                      {"data", "direction", "tutorial-filter", "max-len", "min-count", "synthetic-size", "seed", "cell",
                       "embedding", "hidden", "layers", "bidirectional", "attention", "dropout", "epochs", "batch",
                       "lr", "lr-decay", "blas-threads", "decay-after", "clip", "teacher-forcing", "threads", "max-minutes",
                       "checkpoint", "resume", "beam", "length-alpha", "max-output", "eval-limit", "show-attention",
                       "metrics-out"},
                      {"tutorial-filter", "bidirectional", "resume", "show-attention"}, kUsage);
  openblas_set_num_threads(int(args.integer("blas-threads", 1)));
  if (command == "train") return train(args);
  if (command == "eval") return eval(args);
  if (command == "translate") return translate(args);
  std::cerr << "unknown command '" << command << "'\n" << kUsage << "\n";
  return 2;
} catch (const std::exception& e) {
  std::cerr << "translate: " << e.what() << "\n";
  return 1;
}
