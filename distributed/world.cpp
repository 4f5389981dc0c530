#include "distributed/world.hpp"

#include <mpi.h>

#include <cstdlib>
#include <chrono>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

namespace tapenet::distributed {

namespace {

World single_process_world;
const World* current_world = &single_process_world;

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw DistributedError(std::string(what) + ": " + std::string(text, std::size_t(length)));
}

// MPI counts are ints: large buffers go in pieces of at most 1 GiB.
constexpr std::size_t kMaxMessage = std::size_t(1) << 30;

// TAPENET_MPI_TIMEOUT=S: a receive or broadcast that waits longer than S seconds throws
// (and the program's error path ends the run) instead of hanging on a rank that is alive
// but stuck. 0 or unset: wait as long as it takes (a rank that dies is noticed by mpirun).
double timeout_seconds() {
  static const double s = [] {
    const char* v = std::getenv("TAPENET_MPI_TIMEOUT");
    return v ? std::atof(v) : 0.0;
  }();
  return s;
}

void wait(MPI_Request& request, const std::string& what) {
  if (timeout_seconds() <= 0) {
    check(MPI_Wait(&request, MPI_STATUS_IGNORE), what.c_str());
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds());
  for (int done = 0; !done;) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what.c_str());
    if (!done && std::chrono::steady_clock::now() > deadline)
      throw DistributedError(what + ": no answer for " + std::to_string(timeout_seconds()) +
                             " s (TAPENET_MPI_TIMEOUT): a rank is stuck");
  }
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

const World& world() { return *current_world; }

Environment::Environment(int& argc, char**& argv) {
  if (current_world != &single_process_world) throw DistributedError("distributed::Environment: one per process");
  current_world = &world_;
  if (!launched_by_mpi()) return;
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  initialised_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_.size_);
}

Environment::~Environment() {
  current_world = &single_process_world;
  if (!initialised_) return;
  // Left by an exception nobody reported: the other ranks may be waiting for this one.
  if (std::uncaught_exceptions() > 0 && world_.size_ > 1) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Finalize();
}

void World::barrier() const {
  if (distributed()) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void World::abort(int code) const {
  std::cout.flush();
  std::cerr.flush();
  if (distributed()) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void World::send(const void* data, std::size_t bytes, int to, int tag) const {
  const char* p = static_cast<const char*>(data);
  do {
    const std::size_t n = std::min(bytes, kMaxMessage);
    check(MPI_Send(p, int(n), MPI_BYTE, to, tag, MPI_COMM_WORLD), "MPI_Send");
    p += n;
    bytes -= n;
  } while (bytes > 0);
}

void World::receive(void* data, std::size_t bytes, int from, int tag) const {
  char* p = static_cast<char*>(data);
  do {
    const std::size_t n = std::min(bytes, kMaxMessage);
    MPI_Request request;
    check(MPI_Irecv(p, int(n), MPI_BYTE, from, tag, MPI_COMM_WORLD, &request), "MPI_Irecv");
    wait(request, "rank " + std::to_string(rank_) + " receiving from rank " + std::to_string(from));
    p += n;
    bytes -= n;
  } while (bytes > 0);
}

void World::broadcast(void* data, std::size_t bytes, int root) const {
  if (!distributed()) return;
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, kMaxMessage);
    MPI_Request request;
    check(MPI_Ibcast(p, int(n), MPI_BYTE, root, MPI_COMM_WORLD, &request), "MPI_Ibcast");
    wait(request, "rank " + std::to_string(rank_) + " in a broadcast from rank " + std::to_string(root));
    p += n;
    bytes -= n;
  }
}

template <class T>
void World::broadcast(std::vector<T>& values, int root) const {
  if (!distributed()) return;
  std::uint64_t n = values.size();
  broadcast(&n, sizeof n, root);
  values.resize(n);
  broadcast(values.data(), n * sizeof(T), root);
}

void World::broadcast(std::string& text, int root) const {
  std::vector<char> bytes(text.begin(), text.end());
  broadcast(bytes, root);
  text.assign(bytes.begin(), bytes.end());
}

std::vector<std::string> World::all_gather(const std::string& text) const {
  if (!distributed()) return {text};
  std::vector<std::string> all(static_cast<std::size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    std::string t = r == rank_ ? text : std::string();
    broadcast(t, r);
    all[std::size_t(r)] = std::move(t);
  }
  return all;
}

template <class T>
std::vector<T> World::all_gather(const std::vector<T>& values) const {
  if (!distributed()) return values;
  const int bytes = int(values.size() * sizeof(T));
  std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_), 0);
  check(MPI_Allgather(&bytes, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  for (std::size_t r = 1; r < counts.size(); ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
  std::vector<T> all(std::size_t(offsets.back() + counts.back()) / sizeof(T));
  check(MPI_Allgatherv(values.data(), bytes, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE,
                       MPI_COMM_WORLD),
        "MPI_Allgatherv");
  return all;
}

double World::max(double value) const {
  if (!distributed()) return value;
  double out = value;
  check(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return out;
}

template std::vector<float> World::all_gather<float>(const std::vector<float>&) const;
template std::vector<double> World::all_gather<double>(const std::vector<double>&) const;
template void World::broadcast<float>(std::vector<float>&, int) const;
template void World::broadcast<double>(std::vector<double>&, int) const;
template void World::broadcast<char>(std::vector<char>&, int) const;
template void World::broadcast<std::uint64_t>(std::vector<std::uint64_t>&, int) const;

}  // namespace tapenet::distributed
