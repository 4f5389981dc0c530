// Row-parallel loops for the large per-row kernels (internal). The thread count follows
// OpenBLAS's (the recurrent layers' thread rule; 1 inside parallel_batch's chunks), so a
// row-parallel op and a BLAS call never run at the same time with more threads than asked
// for. Blocks are contiguous row ranges, and callers keep each row's arithmetic independent
// of the split, so results do not depend on the thread count.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cstddef>

namespace tapenet::detail {

// max(1, openblas_get_num_threads()).
std::size_t blas_threads();

// body(r0, r1) over [0, rows) in up to blas_threads() blocks of at least min_rows rows.
template <class Body>
void for_row_blocks(std::size_t rows, std::size_t min_rows, const Body& body) {
  const std::size_t most = rows / std::max<std::size_t>(min_rows, 1);
  const std::size_t blocks = std::min(blas_threads(), most);
  if (blocks <= 1) {
    if (rows) body(std::size_t(0), rows);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, blocks, 1),
      [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) body(rows * i / blocks, rows * (i + 1) / blocks);
      },
      tbb::static_partitioner());
}

}  // namespace tapenet::detail
