#include "autograd/storage.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tapenet {

namespace {

#ifdef TAPENET_NO_BLOCK_CACHE
constexpr std::size_t kDefaultLimit = 0;
#else
constexpr std::size_t kDefaultLimit = std::size_t(256) << 20;
#endif

std::atomic<std::size_t> g_limit{kDefaultLimit};
std::atomic<std::size_t> g_system_allocations{0};
// Bytes of blocks held by tensors now, and the most ever held at once. Each thread counts
// its own changes and publishes them in steps of kLiveStep bytes, so that small tensors
// allocated on two threads do not contend for one cache line; the peak is exact to within
// kLiveStep per thread.
std::atomic<std::int64_t> g_live_bytes{0};
std::atomic<std::int64_t> g_peak_live_bytes{0};
constexpr std::int64_t kLiveStep = std::int64_t(1) << 20;
thread_local std::int64_t t_unpublished_bytes = 0;

void note_live_change(std::int64_t delta) {
  t_unpublished_bytes += delta;
  if (t_unpublished_bytes < kLiveStep && t_unpublished_bytes > -kLiveStep) return;
  const std::int64_t change = t_unpublished_bytes;
  t_unpublished_bytes = 0;
  const std::int64_t live = g_live_bytes.fetch_add(change, std::memory_order_relaxed) + change;
  std::int64_t peak = g_peak_live_bytes.load(std::memory_order_relaxed);
  while (live > peak && !g_peak_live_bytes.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

// What the shared pool may keep: the set limit, or as much as the program ever held at once
// when that is more. A step whose tape outgrows the limit (a long unroll of a hand-written
// cell) would otherwise hand part of its blocks back to the system and fault fresh pages
// in on every step; keeping them costs no peak memory, since the step held them all anyway.
std::size_t pool_limit(std::size_t limit) {
  const auto peak = std::size_t(std::max<std::int64_t>(0, g_peak_live_bytes.load(std::memory_order_relaxed)));
  return limit == 0 ? 0 : std::max(limit, peak);
}

std::size_t block_size(std::size_t bytes) {
  const std::size_t a = detail::kStorageAlignment;
  return bytes == 0 ? a : (bytes + a - 1) / a * a;
}

// Freed blocks by size.
struct BlockCache {
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;  // block size -> blocks
  std::size_t bytes = 0;

  void* take(std::size_t size) {
    auto it = free_blocks.find(size);
    if (it == free_blocks.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    bytes -= size;
    return p;
  }
  bool put(void* p, std::size_t size, std::size_t limit) {
    if (bytes + size > limit) return false;
    try {
      free_blocks[size].push_back(p);
    } catch (...) {  // no memory for the bookkeeping: the caller frees the block
      return false;
    }
    bytes += size;
    return true;
  }
  void release() {
    for (auto& entry : free_blocks)
      for (void* p : entry.second) std::free(p);
    free_blocks.clear();
    bytes = 0;
  }
};

// Two levels. Each thread keeps up to limit/kThreadShare bytes of its own (no lock on the
// common path); what does not fit goes to one shared pool of up to `limit` bytes behind a
// mutex. The pool is what keeps producer/consumer patterns bounded: in parallel_batch a worker
// allocates a chunk's gradients and the calling thread frees them after the reduction; with
// per-thread caches alone the caller's cache would fill with blocks only the worker asks for.
struct SharedPool {
  std::mutex mutex;
  BlockCache cache;
};

SharedPool& shared_pool() {
  static SharedPool* pool = new SharedPool;  // never destroyed: tensors may be freed during exit
  return *pool;
}

// Each thread's own share of the limit.
constexpr std::size_t kThreadShare = 8;

// The pointer and the flag are trivially destructible, so they stay readable while other
// thread_local and static objects (which may own tensors) are destroyed at thread or process
// exit; the reaper hands the thread's blocks back then and makes later frees skip the cache.
thread_local BlockCache* t_cache = nullptr;
thread_local bool t_cache_closed = false;

struct CacheReaper {
  ~CacheReaper() {
    if (t_cache) t_cache->release();
    delete t_cache;
    t_cache = nullptr;
    t_cache_closed = true;
  }
};

BlockCache* this_thread_cache() {
  if (t_cache_closed) return nullptr;
  if (!t_cache) {
    thread_local CacheReaper reaper;
    (void)reaper;
    t_cache = new BlockCache;
  }
  return t_cache;
}

}  // namespace

std::size_t tensor_cache_bytes() {
  if (tensor_cache_limit() == 0) return 0;
  SharedPool& pool = shared_pool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  return (t_cache ? t_cache->bytes : 0) + pool.cache.bytes;
}

void release_tensor_cache() {
  if (t_cache) t_cache->release();
  if (tensor_cache_limit() == 0) return;
  SharedPool& pool = shared_pool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  pool.cache.release();
}

std::size_t tensor_system_allocations() { return g_system_allocations.load(std::memory_order_relaxed); }

std::size_t tensor_cache_limit() { return g_limit.load(std::memory_order_relaxed); }

void set_tensor_cache_limit(std::size_t bytes) {
  g_limit.store(bytes, std::memory_order_relaxed);
  release_tensor_cache();
}

namespace detail {

void* storage_allocate(std::size_t bytes) {
  const std::size_t size = block_size(bytes);
  void* p = nullptr;
  if (BlockCache* cache = t_cache) p = cache->take(size);
  if (!p && tensor_cache_limit() > 0) {
    SharedPool& pool = shared_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    p = pool.cache.take(size);
  }
  if (!p) {
    p = std::aligned_alloc(kStorageAlignment, size);
    if (!p) throw std::bad_alloc();
    g_system_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  note_live_change(std::int64_t(size));
  return p;
}

void storage_deallocate(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  const std::size_t size = block_size(bytes);
  note_live_change(-std::int64_t(size));
  const std::size_t limit = tensor_cache_limit(), shared_limit = pool_limit(limit);
  if (size > shared_limit) {
    std::free(p);
    return;
  }
  if (BlockCache* cache = this_thread_cache(); cache && cache->put(p, size, limit / kThreadShare)) return;
  if (!t_cache_closed) {
    SharedPool& pool = shared_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    if (pool.cache.put(p, size, shared_limit)) return;
  }
  std::free(p);
}

}  // namespace detail

}  // namespace tapenet
