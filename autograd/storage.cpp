#include "autograd/storage.hpp"

#include <atomic>
#include <cstdlib>
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

std::size_t block_size(std::size_t bytes) {
  const std::size_t a = detail::kStorageAlignment;
  return bytes == 0 ? a : (bytes + a - 1) / a * a;
}

struct BlockCache {
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;  // block size -> blocks
  std::size_t bytes = 0;

  void release() {
    for (auto& entry : free_blocks)
      for (void* p : entry.second) std::free(p);
    free_blocks.clear();
    bytes = 0;
  }
};

// The pointer and the flag are trivially destructible, so they stay readable while other
// thread_local and static objects (which may own tensors) are destroyed at thread or process
// exit; the reaper frees the cache then and makes later frees go straight to the system.
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

std::size_t tensor_cache_bytes() { return t_cache ? t_cache->bytes : 0; }

void release_tensor_cache() {
  if (t_cache) t_cache->release();
}

std::size_t tensor_system_allocations() { return g_system_allocations.load(std::memory_order_relaxed); }

std::size_t tensor_cache_limit() { return g_limit.load(std::memory_order_relaxed); }

void set_tensor_cache_limit(std::size_t bytes_per_thread) {
  g_limit.store(bytes_per_thread, std::memory_order_relaxed);
  if (t_cache && t_cache->bytes > bytes_per_thread) t_cache->release();
}

namespace detail {

void* storage_allocate(std::size_t bytes) {
  const std::size_t size = block_size(bytes);
  if (BlockCache* cache = t_cache) {
    auto it = cache->free_blocks.find(size);
    if (it != cache->free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cache->bytes -= size;
      return p;
    }
  }
  void* p = std::aligned_alloc(kStorageAlignment, size);
  if (!p) throw std::bad_alloc();
  g_system_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void storage_deallocate(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  const std::size_t size = block_size(bytes);
  BlockCache* cache = size <= tensor_cache_limit() ? this_thread_cache() : nullptr;
  if (!cache || cache->bytes + size > tensor_cache_limit()) {
    std::free(p);
    return;
  }
  try {
    cache->free_blocks[size].push_back(p);
    cache->bytes += size;
  } catch (...) {  // no memory for the bookkeeping: just free the block
    std::free(p);
  }
}

}  // namespace detail

}  // namespace tapenet
