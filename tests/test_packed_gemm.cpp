// PackedWeight (autograd/packed_gemm.hpp): every kernel this CPU runs against a plain triple
// loop, on shapes that exercise the remainders (rows not a multiple of the row block, a
// partial last panel, K longer than one K block, strided A and C), and that a row comes out
// the same whichever rows are multiplied beside it.

#define BOOST_TEST_MODULE packed_gemm
#include <cblas.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <random>
#include <vector>

#include "autograd/detail.hpp"
#include "autograd/packed_gemm.hpp"

using namespace tapenet::detail;

namespace {

struct Case {
  std::size_t M, K, N;
};

// Rows 1..13 against the 12/6/4/1-row tiles; N = 1, 7, 33, 100 against 8/16/32-wide panels;
// K = 700 and 1100 cross the K blocks (512 floats, 256 doubles).
// M = 100 and 203 cross the row blocks (48 / 96 rows).
const Case kCases[] = {{1, 1, 1},     {3, 5, 7},    {13, 17, 33},  {12, 64, 32},
                       {25, 700, 100}, {7, 1100, 19}, {64, 40, 96}, {100, 300, 50}, {203, 40, 70}};

std::vector<PackedIsa> runnable_isas() {
  std::vector<PackedIsa> out;
  for (PackedIsa isa : {PackedIsa::None, PackedIsa::Avx2, PackedIsa::Avx512})
    if (cpu_supports(isa)) out.push_back(isa);
  return out;
}

template <class T>
std::vector<T> random_values(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> v(n);
  for (auto& x : v) x = T(u(rng));
  return v;
}

// C[M, N] (stride ldc) += A[M, K] · B, B = Wᵀ or W, in double; A is [M, K] with stride lda,
// or stored transposed ([K, M], stride lda) when a_transposed.
template <class T>
void reference(const Case& c, const std::vector<T>& A, std::size_t lda, bool a_transposed, const std::vector<T>& W,
               bool transposed, std::vector<T>& C, std::size_t ldc) {
  for (std::size_t m = 0; m < c.M; ++m)
    for (std::size_t n = 0; n < c.N; ++n) {
      double s = 0;
      for (std::size_t k = 0; k < c.K; ++k)
        s += double(a_transposed ? A[k * lda + m] : A[m * lda + k]) * double(transposed ? W[n * c.K + k] : W[k * c.N + n]);
      C[m * ldc + n] = T(double(C[m * ldc + n]) + s);
    }
}

template <class T>
void check_against_reference(T tolerance) {
  std::mt19937_64 rng(7);
  for (PackedIsa isa : runnable_isas())
    for (const Case& c : kCases)
      for (bool transposed : {true, false})
        for (bool a_transposed : {false, true}) {
          // strided rows, as the fused ops use them
          const std::size_t lda = (a_transposed ? c.M : c.K) + 3, ldc = c.N + 5;
          const auto A = random_values<T>((a_transposed ? c.K : c.M) * lda, rng);
          const auto W = random_values<T>(c.K * c.N, rng);
          auto C = random_values<T>(c.M * ldc, rng);
          auto expected = C;
          reference(c, A, lda, a_transposed, W, transposed, expected, ldc);
          PackedWeight<T>(W.data(), transposed ? c.K : c.N, c.K, c.N, transposed, isa)
              .multiply_add(c.M, A.data(), lda, C.data(), ldc, a_transposed);
          const T scale = T(1) + T(std::sqrt(double(c.K)));
          std::size_t wrong = 0;
          for (std::size_t i = 0; i < C.size(); ++i) wrong += !(std::abs(C[i] - expected[i]) <= tolerance * scale);
          BOOST_TEST_CONTEXT(packed_isa_name(isa) << " M=" << c.M << " K=" << c.K << " N=" << c.N
                                                  << " transposed=" << transposed << " a_transposed=" << a_transposed)
          BOOST_TEST(wrong == 0u);
        }
}

}  // namespace

BOOST_AUTO_TEST_CASE(float_kernels_match_the_reference) { check_against_reference<float>(2e-5f); }

BOOST_AUTO_TEST_CASE(double_kernels_match_the_reference) { check_against_reference<double>(1e-12); }

BOOST_AUTO_TEST_CASE(columns_past_n_are_untouched) {
  // The last panel is partial: the padding must never be written into C's row tail.
  std::mt19937_64 rng(3);
  const std::size_t M = 5, K = 9, N = 19, ldc = 40;
  const auto A = random_values<float>(M * K, rng), W = random_values<float>(K * N, rng);
  for (PackedIsa isa : runnable_isas()) {
    std::vector<float> C(M * ldc, 42.0f);
    PackedWeight<float>(W.data(), K, K, N, true, isa).multiply_add(M, A.data(), K, C.data(), ldc);
    for (std::size_t m = 0; m < M; ++m)
      for (std::size_t n = N; n < ldc; ++n) BOOST_TEST(C[m * ldc + n] == 42.0f);
  }
}

BOOST_AUTO_TEST_CASE(rows_give_the_same_bits_alone_or_in_a_block) {
  // The fused recurrences split the batch rows over threads: a row's result must not depend
  // on which rows it is multiplied with (12-, 4- and 1-row tiles sum in the same order).
  std::mt19937_64 rng(5);
  const std::size_t M = 29, K = 700, N = 70;
  const auto A = random_values<float>(M * K, rng), W = random_values<float>(N * K, rng);
  for (PackedIsa isa : runnable_isas()) {
    if (isa == PackedIsa::None) continue;  // BLAS makes no such promise
    const PackedWeight<float> packed(W.data(), K, K, N, true, isa);
    std::vector<float> together(M * N, 0.0f), apart(M * N, 0.0f);
    packed.multiply_add(M, A.data(), K, together.data(), N);
    for (std::size_t r0 = 0; r0 < M; r0 += 5) {
      const std::size_t rows = std::min<std::size_t>(5, M - r0);
      packed.multiply_add(rows, A.data() + r0 * K, K, apart.data() + r0 * N, N);
    }
    std::size_t differing = 0;
    for (std::size_t i = 0; i < together.size(); ++i) differing += together[i] != apart[i];
    BOOST_TEST_CONTEXT(packed_isa_name(isa)) BOOST_TEST(differing == 0u);
  }
}

BOOST_AUTO_TEST_CASE(gemm_accumulate_matches_blas_for_every_transpose_and_any_thread_count) {
  std::mt19937_64 rng(13);
  const std::size_t M = 53, N = 45, K = 37;  // over both row thresholds: the packed path
  const int saved = openblas_get_num_threads();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const std::size_t lda = ta ? M : K, ldb = tb ? K : N;
      const auto A = random_values<double>(M * K, rng), B = random_values<double>(K * N, rng);
      const auto C0 = random_values<double>(M * N, rng);
      auto expected = C0;
      gemm(ta, tb, int(M), int(N), int(K), 1.0, A.data(), int(lda), B.data(), int(ldb), 1.0, expected.data(), int(N));
      std::vector<std::vector<double>> results;
      for (int threads : {1, 2, 3}) {
        openblas_set_num_threads(threads);
        auto C = C0;
        gemm_accumulate(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, C.data(), N);
        results.push_back(C);
      }
      std::size_t wrong = 0, differing = 0;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        wrong += !(std::abs(results[0][i] - expected[i]) <= 1e-12);
        differing += results[1][i] != results[0][i] || results[2][i] != results[0][i];
      }
      BOOST_TEST_CONTEXT("ta=" << ta << " tb=" << tb) {
        BOOST_TEST(wrong == 0u);
        BOOST_TEST(differing == 0u);
      }
    }
  openblas_set_num_threads(saved);
}

BOOST_AUTO_TEST_CASE(an_unsupported_isa_falls_back_to_blas) {
  std::mt19937_64 rng(9);
  const auto A = random_values<double>(6, rng), W = random_values<double>(6, rng);
  for (PackedIsa isa : {PackedIsa::Avx2, PackedIsa::Avx512}) {
    const PackedWeight<double> packed(W.data(), 3, 3, 2, true, isa);
    BOOST_TEST((packed.isa() == isa) == cpu_supports(isa));
  }
}
