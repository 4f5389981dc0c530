// How every example runs under `mpirun -np N` (distributed/): N replicas of one run, each
// training its shard of every global batch, in lockstep.
//
//   - rank 0 alone writes: stdout, the progress bar, checkpoints, --metrics-out, --plot
//     (the others print only their errors, on stderr);
//   - at start-up the ranks check they agree on the run configuration, the parameter
//     shapes and the training data, and take rank 0's parameters;
//   - on resume rank 0's checkpoint is sent to the others, so it need not be on their disks;
//   - a rank that fails ends the whole run (MPI_Abort), so none waits forever.
// Started without mpirun, all of this is a no-op.
#pragma once

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <tapenet/distributed/consistency.hpp>
#include <tapenet/distributed/data_parallel.hpp>
#include "run_config.hpp"

namespace tapenet::examples {

inline const distributed::World& world() { return distributed::world(); }
inline bool on_root() { return world().is_root(); }

// Non-root ranks print nothing on stdout.
inline void quiet_unless_root() {
  static std::ostringstream discarded;  // never read; keeps std::cout in a good state
  if (!on_root()) std::cout.rdbuf(discarded.rdbuf());
}

// Start-up of the replicas: the same options (every value the RunConfig read), the same
// parameter shapes and the same training data (`data_fingerprint`) everywhere, else every
// rank throws naming the first difference; then rank 0's parameter values everywhere.
template <class T>
void start_replicas(const RunConfig& config, const ParameterList<T>& params, const std::string& data_fingerprint) {
  if (!world().distributed()) return;
  distributed::check_agreement(world(), {{"run configuration", serialize_config(config.values())},
                                         {"model (parameter shapes)", distributed::parameter_shapes(params)},
                                         {"training data", data_fingerprint}});
  distributed::broadcast_parameters(world(), params);
}

// A file every rank can read: rank 0's `path` itself; on the other ranks a private copy of
// its bytes sent by rank 0, with the same file name in a folder of this process (so files
// named after one another, "x.npz" and "x.npz.vocab", stay side by side). Removed at exit.
inline std::string readable_everywhere(const std::string& path) {
  if (!world().distributed()) return path;
  std::string bytes;
  if (on_root()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  world().broadcast(bytes, 0);
  if (on_root()) return path;
  static struct Copies {
    std::string folder = "/tmp/tapenet-rank" + std::to_string(world().rank()) + "-" + std::to_string(::getpid());
    std::vector<std::string> files;
    ~Copies() {
      for (const std::string& f : files) std::remove(f.c_str());
      ::rmdir(folder.c_str());
    }
  } copies;
  ::mkdir(copies.folder.c_str(), 0700);
  const std::size_t slash = path.find_last_of('/');
  const std::string copy = copies.folder + "/" + (slash == std::string::npos ? path : path.substr(slash + 1));
  std::ofstream out(copy, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write the copy of " + path + " at " + copy);
  copies.files.push_back(copy);
  return copy;
}

// For the examples that train as one process: under mpirun -np N > 1, a clear error
// (rather than N copies of one run writing the same files).
inline void require_one_process(const std::string& program) {
  if (world().distributed())
    throw std::invalid_argument(program + " trains as one process: run it without mpirun (sentiment, char_lm, "
                                          "word_lm and translate train data-parallel under mpirun)");
}

// main's error path: the message (with the rank when there are several), and the other
// ranks stopped. Returns the exit code.
inline int report_failure(const std::string& program, const std::exception& e) {
  if (world().distributed()) {
    const std::string line = program + " (rank " + std::to_string(world().rank()) + " of " +
                             std::to_string(world().size()) + "): " + e.what() + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);  // one write: ranks' lines do not interleave
    std::fflush(stderr);
    world().abort(1);
  }
  std::cerr << program << ": " << e.what() << "\n";
  return 1;
}

enum class Processes { Any, One };

// An example's main(): the MPI environment (a one-process world without mpirun), stdout from
// rank 0 only, and every error reported by report_failure (which, under mpirun, ends every
// rank). Processes::One: a clear error under mpirun -np N > 1.
template <class Run>
int run_example(const std::string& program, int argc, char** argv, Run run, Processes processes = Processes::Any) {
  distributed::Environment mpi(argc, argv);
  try {
    if (processes == Processes::One) require_one_process(program);
    quiet_unless_root();
    return run(argc, argv);
  } catch (const std::exception& e) {
    return report_failure(program, e);
  }
}

}  // namespace tapenet::examples
