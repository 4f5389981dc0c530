#include "setup.hpp"

#include "../common/replicas.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <iostream>
#include <random>

namespace nmt {

using namespace tapenet;
using Specials = td::Seq2SeqSpecials;
using examples::Policy;

// ---- configuration, remembered by the checkpoint ------------------------------------------------

Settings read_settings(examples::RunConfig& c, bool training) {
  Settings s;
  s.data = c.text("data", "-");
  s.direction = c.choice("direction", "fra-eng", {"fra-eng", "eng-fra"});
  s.source_column = std::size_t(c.integer("source-column", s.direction == "fra-eng" ? 1 : 0, Policy::Fixed));
  if (s.source_column > 1) throw std::invalid_argument("--source-column must be 0 or 1");
  for (auto [key, field] : {std::pair{"train", &s.train}, {"valid", &s.valid}, {"test", &s.test},
                            {"train-source", &s.train_source}, {"train-target", &s.train_target},
                            {"valid-source", &s.valid_source}, {"valid-target", &s.valid_target},
                            {"test-source", &s.test_source}, {"test-target", &s.test_target}})
    *field = c.text(key, "");
  s.tutorial = c.flag("tutorial-filter");
  s.subwords = c.choice("subwords", "none", {"none", "bpe", "unigram"});
  s.vocab_size = c.count("vocab-size", 8000);
  s.joint_vocab = c.flag("joint-vocab");
  s.reject_malformed = c.choice("malformed", "skip", {"skip", "reject"}) == "reject";
  s.lowercase = c.choice("lowercase", s.subwords == "none" ? "yes" : "no", {"yes", "no"}) == "yes";
  s.max_len = std::size_t(c.integer("max-len", s.tutorial ? 9 : 0, Policy::Fixed));
  s.min_count = std::size_t(c.integer("min-count", 1, Policy::Fixed));
  s.synthetic_size = c.count("synthetic-size", 6000);
  s.seed = std::uint64_t(c.integer("seed", 1, Policy::Fixed));
  s.cell = c.choice("cell", "gru", {"gru", "lstm"});
  s.embedding = c.count("embedding", 128);
  s.hidden = c.count("hidden", 128);
  s.layers = c.count("layers", 1);
  s.bidirectional = c.flag("bidirectional");
  s.attention = c.choice("attention", "additive", {"additive", "dot", "general", "fixed", "none"});
  s.dropout = c.number("dropout", 0.1, Policy::Fixed);
  if (!training) return s;
  s.epochs = std::size_t(c.integer("epochs", 10));
  s.batch = c.count("batch", 32);  // fixes the order of the batches, so a resumed run continues it
  s.lr = c.number("lr", 2e-3);
  s.lr_decay = c.number("lr-decay", 1.0);
  s.decay_after = std::size_t(c.integer("decay-after", 0));
  s.clip = c.number("clip", 5.0);
  s.teacher_forcing = c.number("teacher-forcing", 1.0);
  return s;
}

// ---- the synthetic task: number words -> digits --------------------------------------------------

namespace {

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

}  // namespace

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
    p.source_text = td::join_tokens(p.source);
    p.target_text = td::join_tokens(p.target);
    pairs.push_back(std::move(p));
  }
  return pairs;
}

// ---- data ---------------------------------------------------------------------------------------

namespace {

td::PairReadOptions read_options(const Settings& s) {
  td::PairReadOptions o;
  o.source_column = s.source_column;
  o.english_column = 0;
  o.max_tokens = s.max_len;
  o.english_prefix_filter = s.tutorial;
  o.normalize.lowercase = s.lowercase;
  o.malformed = s.reject_malformed ? td::MalformedLines::kThrow : td::MalformedLines::kSkip;
  return o;
}

td::PairCorpus reported(td::PairCorpus corpus, const std::string& name) {
  const auto& r = corpus.report;
  std::cerr << name << ": " << r.lines << " lines, kept " << r.kept << " pairs (" << r.too_long << " too long, "
            << r.no_english_prefix << " without an English prefix, " << r.malformed() << " malformed)\n";
  return corpus;
}

// One split: a tab-separated file, or two aligned files (line i of one translates line i of
// the other) read as "source<TAB>target" lines; none: no pairs.
std::vector<td::SentencePair> read_split(const std::string& tsv, const std::string& source, const std::string& target,
                                         td::PairReadOptions o) {
  if (!tsv.empty() && (!source.empty() || !target.empty()))
    throw std::invalid_argument(tsv + ": give a split as one tab-separated file or as --*-source/--*-target, not both");
  if (!tsv.empty()) return reported(td::read_pairs(tsv, o), tsv).pairs;
  if (source.empty() != target.empty()) throw std::invalid_argument("a --*-source file needs its --*-target file");
  if (source.empty()) return {};
  std::ifstream src(source), tgt(target);
  if (!src || !tgt) throw std::runtime_error("cannot open " + (src ? target : source));
  std::stringstream joined;
  std::string a, b;
  for (std::size_t line = 1; std::getline(src, a); ++line) {
    if (!std::getline(tgt, b))
      throw std::invalid_argument(target + ": ends at line " + std::to_string(line) + ", " + source + " goes on");
    joined << a << '\t' << b << '\n';
  }
  if (std::getline(tgt, b)) throw std::invalid_argument(source + ": ends before " + target);
  o.source_column = 0;
  const std::string name = source + " | " + target;
  return reported(td::read_pairs(joined, name, o), name).pairs;
}

// The fixed splits, concatenated, with the index ranges of each.
void load_fixed_splits(const Settings& s, Dataset& d) {
  const td::PairReadOptions o = read_options(s);
  std::vector<std::size_t>* ranges[] = {&d.split.train, &d.split.valid, &d.split.test};
  const std::string* files[][3] = {{&s.train, &s.train_source, &s.train_target},
                                   {&s.valid, &s.valid_source, &s.valid_target},
                                   {&s.test, &s.test_source, &s.test_target}};
  for (int k = 0; k < 3; ++k) {
    for (auto& p : read_split(*files[k][0], *files[k][1], *files[k][2], o)) {
      ranges[k]->push_back(d.pairs.size());
      d.pairs.push_back(std::move(p));
    }
  }
  if (d.split.train.empty()) throw std::invalid_argument("the training split holds no pair");
  if (d.split.valid.empty() && (!s.valid.empty() || !s.valid_source.empty()))
    throw std::invalid_argument("the validation split holds no pair (" + (s.valid.empty() ? s.valid_source : s.valid) + ")");
  if (d.split.test.empty()) throw std::invalid_argument("the test split holds no pair (give --test or --test-source/--test-target)");
}

}  // namespace

bool has_fixed_splits(const Settings& s) { return !s.train.empty() || !s.train_source.empty(); }

Dataset empty_data(const Settings& s) {
  Dataset d;
  d.words = read_options(s).normalize;
  d.synthetic = s.data == "-" && !has_fixed_splits(s);
  return d;
}

Dataset load_data(const Settings& s, bool build_vocabs) {
  Dataset d = empty_data(s);
  td::SplitFractions fractions;
  if (has_fixed_splits(s)) {
    if (s.data != "-") throw std::invalid_argument("give either --data or fixed splits (--train ..., --train-source ...)");
    load_fixed_splits(s, d);
  } else {
    if (s.data == "-") {
      d.pairs = synthetic_pairs(s.synthetic_size, s.seed + 77);
    } else {
      d.pairs = reported(td::read_pairs(s.data, read_options(s)), s.data).pairs;
    }
    if (s.tutorial) fractions = {0.9, 0.0, 0.1};
    d.split = td::split_indices(d.pairs.size(), s.seed, fractions);
    const std::string name = s.data == "-" ? "the synthetic task" : s.data;
    if (d.split.train.empty()) throw std::invalid_argument(name + ": the training split holds no pair");
    if (d.split.test.empty()) throw std::invalid_argument(name + ": the test split holds no pair");
  }
  if (build_vocabs && s.subwords == "none") d.vocabs = td::build_pair_vocabs(d.pairs, d.split.train, s.min_count);
  return d;
}

// ---- subwords -----------------------------------------------------------------------------------

namespace {

std::string hex(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string lowercased(const std::string& text) {
  std::u32string cps = td::decode_utf8(text);
  for (char32_t& cp : cps) cp = td::to_lower(cp);
  return td::encode_utf8(cps);
}

// The text a subword model sees: the field, lowercased with --lowercase yes.
std::string model_text(const td::NormalizeOptions& words, const std::string& text) {
  return words.lowercase ? lowercased(text) : text;
}

// <unk>, <pad>, <sos>, <eos>, then every piece of the model but its own <unk>, in id order.
td::Vocab subword_vocab(const td::SubwordModel& m) {
  td::WordCounts counts;
  for (int id = 1; id < int(m.size()); ++id) counts[m.piece(id)] = m.size() - std::size_t(id);
  return td::build_seq2seq_vocab(counts);
}

}  // namespace

td::Tokens Dataset::source_tokens(const std::string& text) const {
  if (subwords()) return source_model->encode(model_text(words, text));
  return synthetic ? td::split_on_spaces(text) : td::normalize_tokens(text, words);
}

td::Tokens Dataset::word_tokens(const std::string& text) const {
  return synthetic ? td::split_on_spaces(text) : td::normalize_tokens(text, words);
}

std::string Dataset::output_text(const td::Tokens& tokens) const {
  if (subwords()) {
    // Byte pieces may spell control characters (a newline would split the output line).
    std::string text = target_model->decode(tokens);
    for (char& c : text)
      if ((static_cast<unsigned char>(c) < 0x20) || c == 0x7F) c = ' ';
    return text;
  }
  return synthetic ? td::join_tokens(tokens) : td::detokenize(tokens);
}

std::vector<std::string> subword_files(const Settings& s, const std::string& checkpoint) {
  if (s.subwords == "none") return {};
  if (s.joint_vocab) return {checkpoint + ".spm"};
  return {checkpoint + ".src.spm", checkpoint + ".tgt.spm"};
}

void train_subwords(const Settings& s, Dataset& d) {
  td::SubwordOptions o;
  o.kind = td::parse_subword_kind(s.subwords);
  o.vocab_size = s.vocab_size;
  std::vector<std::string> source, target;
  for (std::size_t i : d.split.train) {
    source.push_back(model_text(d.words, d.pairs[i].source_text));
    target.push_back(model_text(d.words, d.pairs[i].target_text));
  }
  const auto start = std::chrono::steady_clock::now();
  if (s.joint_vocab) {
    source.insert(source.end(), target.begin(), target.end());
    d.source_model = d.target_model = td::SubwordModel::train(source, o);
  } else {
    d.source_model = td::SubwordModel::train(source, o);
    d.target_model = td::SubwordModel::train(target, o);
  }
  std::cerr << "subwords: " << s.subwords << (s.joint_vocab ? " joint " : " per side ") << d.source_model->size()
            << " / " << d.target_model->size() << " pieces, trained in " << std::setprecision(3)
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
}

std::string save_subwords(const Settings& s, const Dataset& d, const std::string& checkpoint) {
  const std::vector<std::string> files = subword_files(s, checkpoint);
  if (files.empty()) return "";
  const bool write = examples::on_root();  // under mpirun every rank trained the same model
  if (write) d.source_model->save(files[0]);
  if (files.size() == 1) return hex(d.source_model->fingerprint());
  if (write) d.target_model->save(files[1]);
  return hex(d.source_model->fingerprint()) + " " + hex(d.target_model->fingerprint());
}

void load_subwords(const Settings& s, Dataset& d, const std::string& checkpoint, const std::string& fingerprint) {
  const std::vector<std::string> files = subword_files(s, checkpoint);
  if (files.empty()) return;
  std::vector<td::SubwordModel> models;
  std::string found;
  for (const std::string& f : files) {
    models.push_back(td::SubwordModel::load(f));
    found += (found.empty() ? "" : " ") + hex(models.back().fingerprint());
  }
  if (found != fingerprint)
    throw std::invalid_argument("subword model " + files[0] + (files.size() > 1 ? " / " + files[1] : "") +
                                " does not match the checkpoint " + checkpoint + " (fingerprint " + found +
                                ", the checkpoint was trained with " + (fingerprint.empty() ? "none" : fingerprint) +
                                ")");
  d.source_model = models.front();
  d.target_model = models.back();
}

void apply_subwords(Dataset& d, bool build_vocabs) {
  if (!d.subwords()) return;
  for (auto& p : d.pairs) {
    p.source = d.source_model->encode(model_text(d.words, p.source_text));
    p.target = d.target_model->encode(model_text(d.words, p.target_text));
  }
  if (build_vocabs) {
    d.vocabs.source = subword_vocab(*d.source_model);
    d.vocabs.target = subword_vocab(*d.target_model);
  }
}

void encode(Dataset& d) { d.encoded = td::encode_pairs(d.pairs, d.vocabs); }


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

Seq2SeqOptions model_options(const Settings& s, const td::PairVocabs& vocabs) {
  Seq2SeqOptions o;
  o.source_vocab = vocabs.source.size();
  o.target_vocab = vocabs.target.size();
  o.embedding = s.embedding;
  o.hidden = s.hidden;
  o.layers = s.layers;
  o.bidirectional = s.bidirectional;
  o.cell = parse_cell(s.cell);
  o.dropout = s.dropout;
  o.start_token = Specials::kSos;
  if (s.attention == "none") o.context = ContextKind::None;
  else if (s.attention == "fixed") o.context = ContextKind::Fixed;
  else o.attention = parse_attention(s.attention);
  return o;
}

Decoding decoding_options(const examples::Args& args, const Settings& s) {
  const bool subwords = s.subwords != "none";
  Decoding d;
  d.search = SearchOptions()
                 .with_start(Specials::kSos)
                 .with_eos(Specials::kEos)
                 .with_beam(std::size_t(args.integer("beam", 5)))
                 .with_length_alpha(args.num("length-alpha", 0.6))
                 .with_max_length(std::size_t(args.integer("max-output", subwords ? 250 : 30)));
  d.max_ratio = args.num("max-ratio", subwords ? 2.0 : 0.0);
  if (d.search.beam == 0) throw std::invalid_argument("--beam must be at least 1");
  if (d.max_ratio < 0) throw std::invalid_argument("--max-ratio must be >= 0");
  return d;
}

SearchOptions Decoding::for_batch(const SourceBatch& source) const {
  SearchOptions so = search;
  if (max_ratio > 0)
    for (std::size_t len : source.lengths)  // the source's <eos> not counted; the output's is
      so.max_lengths.push_back(std::size_t(std::ceil(max_ratio * double(len - 1))) + 1);
  return so;
}

namespace {

// Batches of consecutive indices (sorted by source length first, for less padding).
std::vector<std::vector<std::size_t>> eval_batches(const Dataset& d, std::vector<std::size_t> idx, std::size_t size) {
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return d.encoded[a].source.size() < d.encoded[b].source.size(); });
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < idx.size(); i += size)
    out.emplace_back(idx.begin() + std::ptrdiff_t(i), idx.begin() + std::ptrdiff_t(std::min(idx.size(), i + size)));
  return out;
}

}  // namespace

double evaluate_ppl(Seq2Seq<float>& model, const Dataset& d, const std::vector<std::size_t>& idx) {
  if (idx.empty()) return NAN;
  model.eval();
  NoGradGuard no_grad;
  double nll = 0;
  std::size_t tokens = 0;
  for (const auto& batch : eval_batches(d, idx, 128)) {
    Tape<float> tape;
    Seq2SeqLoss<float> l = model.loss(tape, source_batch(d, batch), target_ids(d, batch));
    nll += l.loss.item();
    tokens += l.tokens;
  }
  model.train();
  return td::perplexity(nll, tokens);
}

namespace {

td::Tokens metric_words(const Dataset& d, td::Tokens words) {
  if (d.words.lowercase) return words;
  for (std::string& w : words) w = lowercased(w);
  return words;
}

}  // namespace

BleuResult evaluate_bleu(Seq2Seq<float>& model, const Dataset& d, std::vector<std::size_t> idx, const Decoding& decoding,
                         bool greedy) {
  model.eval();
  BleuResult r;
  std::vector<td::Tokens> hyp_words, ref_words;
  std::vector<std::string> refs;
  std::size_t tokens = 0, unknown = 0;
  for (const auto& batch : eval_batches(d, idx, greedy ? 128 : 32)) {
    SourceBatch src = source_batch(d, batch);
    const SearchOptions so = decoding.for_batch(src);
    std::vector<Hypothesis> hyps = greedy ? model.greedy(src, so) : model.beam(src, so);
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const td::SentencePair& pair = d.pairs[batch[b]];
      r.order.push_back(batch[b]);
      const std::vector<int> ids(hyps[b].tokens.begin(), hyps[b].tokens.end());
      for (int id : ids) {
        if (id == Specials::kEos) break;
        ++tokens;
        unknown += id == Specials::kUnk;
      }
      r.hypotheses.push_back(td::decode_sentence(d.vocabs.target, ids));
      r.texts.push_back(d.output_text(r.hypotheses.back()));
      refs.push_back(pair.target_text);
      // Lowercased word tokens, so that runs with and without subwords compare: words, the
      // model's own tokens and the pair's (today's BLEU); subwords, the words of the decoded
      // text and of the reference.
      hyp_words.push_back(metric_words(d, d.subwords() ? d.word_tokens(r.texts.back()) : r.hypotheses.back()));
      ref_words.push_back(metric_words(d, d.subwords() ? d.word_tokens(pair.target_text) : pair.target));
    }
  }
  model.train();
  r.score = td::corpus_bleu(hyp_words, ref_words);
  r.sacre = td::sacre_bleu(r.texts, refs);
  r.chrf = td::corpus_chrf(r.texts, refs);
  r.unk_rate = tokens ? double(unknown) / double(tokens) : 0.0;
  return r;
}


}  // namespace nmt
