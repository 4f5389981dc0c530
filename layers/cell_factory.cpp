#include "layers/cell_factory.hpp"

#include <stdexcept>

namespace tapenet {

const char* cell_name(CellKind kind) {
  switch (kind) {
    case CellKind::Elman: return "rnn";
    case CellKind::LSTM: return "lstm";
    case CellKind::GRU: return "gru";
  }
  return "?";
}

CellKind parse_cell(const std::string& name) {
  if (name == "rnn" || name == "elman") return CellKind::Elman;
  if (name == "lstm") return CellKind::LSTM;
  if (name == "gru") return CellKind::GRU;
  throw std::invalid_argument("unknown cell '" + name + "' (expected rnn, lstm or gru)");
}

template <class T>
std::unique_ptr<RecurrentCell<T>> make_cell(CellKind kind, std::size_t input, std::size_t hidden,
                                            std::mt19937_64& rng, const CellOptions& options) {
  switch (kind) {
    case CellKind::Elman: return std::make_unique<ElmanCell<T>>(input, hidden, rng, options.elman);
    case CellKind::LSTM: return std::make_unique<LSTMCell<T>>(input, hidden, rng, options.lstm);
    case CellKind::GRU: return std::make_unique<GRUCell<T>>(input, hidden, rng, options.gru);
  }
  throw std::invalid_argument("make_cell: unknown CellKind " + std::to_string(static_cast<int>(kind)));
}

template <class T>
CellFactory<T> cell_factory(CellKind kind, std::mt19937_64& rng, const CellOptions& options) {
  return [kind, &rng, options](std::size_t input, std::size_t hidden) {
    return make_cell<T>(kind, input, hidden, rng, options);
  };
}

#define TAPENET_INSTANTIATE_CELL_FACTORY(T)                                                               \
  template std::unique_ptr<RecurrentCell<T>> make_cell<T>(CellKind, std::size_t, std::size_t, std::mt19937_64&, \
                                                          const CellOptions&);                            \
  template CellFactory<T> cell_factory<T>(CellKind, std::mt19937_64&, const CellOptions&);
TAPENET_INSTANTIATE_CELL_FACTORY(float)
TAPENET_INSTANTIATE_CELL_FACTORY(double)

}  // namespace tapenet
