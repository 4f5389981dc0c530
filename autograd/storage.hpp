/// @file
/// Where tensor storage comes from: 64-byte aligned blocks recycled through a cache of freed
/// blocks per thread, keyed by size. A training step repeats the same shapes, so after its
/// first iteration it takes every block from the cache: no malloc, and no fresh pages to fault
/// in (glibc serves blocks above 128 KB with mmap and hands them back on free, so without the
/// cache every large activation and gradient cost page faults on every step).
///
/// Each thread keeps up to tensor_cache_limit()/8 bytes of freed blocks without locking; the
/// rest go to one shared pool of up to tensor_cache_limit() bytes (256 MB by default; more, up
/// to the most tensor storage the program ever held at once, when a step needs it), from
/// which any thread takes (so a block freed on one thread serves another: parallel_batch frees
/// its workers' gradients on the calling thread). Beyond that, freed blocks go back to the
/// system. Sanitizer builds (TAPENET_SANITIZE) do not cache, so AddressSanitizer still sees
/// every use after free.
#pragma once

#include <cstddef>
#include <new>

#include <xsimd/memory/xsimd_alignment.hpp>

namespace tapenet {

/// Bytes of freed tensor storage kept for reuse by the calling thread and the shared pool.
std::size_t tensor_cache_bytes();
/// Gives the calling thread's and the shared pool's cached blocks back to the system.
void release_tensor_cache();
/// The cap of the shared pool (each thread keeps a further limit/8); 0 caches nothing. The
/// pool also keeps up to the peak of live tensor storage when that is larger.
std::size_t tensor_cache_limit();
void set_tensor_cache_limit(std::size_t bytes);
/// Blocks taken from the system so far (cache misses), all threads: the steady-state check.
std::size_t tensor_system_allocations();

namespace detail {
constexpr std::size_t kStorageAlignment = 64;  // one cache line; AVX-512 aligned loads
void* storage_allocate(std::size_t bytes);
void storage_deallocate(void* p, std::size_t bytes) noexcept;
}  // namespace detail

/// The allocator of Tensor<T> (autograd/tensor.hpp). It lives in a namespace of its own: a
/// template argument's namespace joins argument-dependent lookup, and xtensor's own unqualified
/// calls (sum, mean, ...) must not find tapenet's ops.
namespace allocation {
template <class T>
struct TensorAllocator {
  using value_type = T;
  TensorAllocator() noexcept = default;
  template <class U>
  TensorAllocator(const TensorAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(detail::storage_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { detail::storage_deallocate(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const TensorAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const TensorAllocator<U>&) const noexcept { return false; }
};
}  // namespace allocation
using allocation::TensorAllocator;

}  // namespace tapenet

// Blocks are 64-byte aligned: let xsimd (and through it xtensor) use aligned loads and stores.
namespace xsimd {
template <class T>
struct allocator_alignment<tapenet::TensorAllocator<T>> {
  using type = aligned_mode;
};
}  // namespace xsimd
