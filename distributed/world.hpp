/// @file
/// The processes of a data-parallel run, on MPI (Open MPI).
///
/// A program creates one Environment at the top of main(). Launched by `mpirun -np N`, the
/// world is N processes; started any other way it is a single process and MPI is never
/// initialised, so every program keeps working without mpirun.
///
/// Faults: MPI errors return codes (MPI_ERRORS_RETURN) and become DistributedError. A rank
/// that fails must not leave the others waiting in a collective, so a program's error path
/// calls World::abort (MPI_Abort: mpirun ends every rank); a rank killed outright is noticed
/// by mpirun, which ends the others too; one that is alive but stuck, with TAPENET_MPI_TIMEOUT=S
/// set, by the others' waits giving up after S seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tapenet::distributed {

class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class World {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }
  bool is_root() const { return rank_ == 0; }

  void barrier() const;
  /// Ends every process of the run with `code` (MPI_Abort); with one process, std::exit.
  [[noreturn]] void abort(int code) const;

  /// Point to point and collectives on raw bytes / typed arrays (no-ops on one process).
  void send(const void* data, std::size_t bytes, int to, int tag) const;
  void receive(void* data, std::size_t bytes, int from, int tag) const;
  void broadcast(void* data, std::size_t bytes, int root) const;
  template <class T>
  void broadcast(std::vector<T>& values, int root) const;  // resizes on the receivers
  void broadcast(std::string& text, int root) const;
  /// Every rank's text, in rank order.
  std::vector<std::string> all_gather(const std::string& text) const;
  /// Every rank's values concatenated in rank order.
  template <class T>
  std::vector<T> all_gather(const std::vector<T>& values) const;
  double max(double value) const;  ///< the largest value over the ranks

 private:
  friend class Environment;
  int rank_ = 0;
  int size_ = 1;
};

/// RAII: MPI_Init_thread (funneled: only the main thread calls MPI; TBB threads never do)
/// when launched by mpirun, MPI_Finalize at the end. One per process.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  const World& world() const { return world_; }

 private:
  World world_;
  bool initialised_ = false;
};

/// True when this process was started by an MPI launcher (mpirun, mpiexec, srun).
bool launched_by_mpi();

/// The world of this process's Environment (a one-process world when there is none).
const World& world();

}  // namespace tapenet::distributed
