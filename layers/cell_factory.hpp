/// @file
/// One place that turns a cell's name into a cell: the `--cell` option of the example programs,
/// the benchmark's jobs and Seq2SeqOptions::cell all go through it.
///
/// @code
///   CellKind kind = parse_cell("gru");                                  // throws on unknown names
///   auto cell = make_cell<float>(kind, D, H, rng, CellOptions().with_gru(GRUOptions().with_reset_after()));
///   StackedRNN<float> rnn(D, H, cell_factory<float>(kind, rng));        // one cell per layer
/// @endcode
///
/// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <memory>
#include <random>
#include <string>

#include "layers/cells.hpp"
#include "layers/sequence.hpp"

namespace tapenet {

/// The cells a name selects: "rnn" (the tanh Elman cell, torch.nn.RNN), "lstm", "gru".
enum class CellKind { Elman, LSTM, GRU };

/// "rnn", "lstm" or "gru".
const char* cell_name(CellKind kind);
/// "rnn" (also "elman"), "lstm" or "gru"; anything else throws std::invalid_argument naming the
/// valid names.
CellKind parse_cell(const std::string& name);

/// Each kind's options; make_cell uses the one of the kind it builds.
struct CellOptions {
  ElmanOptions elman;
  LSTMOptions lstm;
  GRUOptions gru;

  CellOptions& with_elman(const ElmanOptions& o) { elman = o; return *this; }
  CellOptions& with_lstm(const LSTMOptions& o) { lstm = o; return *this; }
  CellOptions& with_gru(const GRUOptions& o) { gru = o; return *this; }
};

/// A cell of `kind` mapping `input` features to `hidden` units, initialised from `rng`.
template <class T>
std::unique_ptr<RecurrentCell<T>> make_cell(CellKind kind, std::size_t input, std::size_t hidden,
                                            std::mt19937_64& rng, const CellOptions& options = {});

/// The same as a CellFactory (for StackedRNN, BidirectionalRNN); `rng` must outlive it.
template <class T>
CellFactory<T> cell_factory(CellKind kind, std::mt19937_64& rng, const CellOptions& options = {});

}  // namespace tapenet
