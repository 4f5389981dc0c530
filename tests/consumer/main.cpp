// Consumer of an installed tapenet through the umbrella header: d/dx sum(tanh(x)) =
// 1 - tanh(x)^2, the version macros, and a layer (an LSTM step) from the same include.
#include <cmath>
#include <cstdio>
#include <random>

#include <tapenet/tapenet.hpp>
#include <tapenet/version.hpp>

static_assert(TAPENET_VERSION >= TAPENET_MAKE_VERSION(0, 2, 0), "the installed tapenet is too old");

int main() {
  std::mt19937_64 rng(1);
  tapenet::LSTMCell<float> cell(3, 4, rng);
  {
    tapenet::Tape<float> t;
    auto s = cell.step(t, t.constant(tapenet::zeros<float>({2, 3})), cell.zero_state(t, 2));
    if (s.h.shape()[1] != 4) {
      std::printf("consumer: LSTM step has the wrong shape\n");
      return 1;
    }
  }
  tapenet::Tape<double> tape;
  tapenet::Tensor<double> xv = {{-1.5, -0.25, 0.0}, {0.5, 1.0, 2.0}};
  auto x = tape.input(xv);
  auto y = tapenet::sum(tapenet::tanh(x));
  tape.backward(y);

  double want_y = 0.0;
  for (double v : xv) want_y += std::tanh(v);
  if (std::abs(y.item() - want_y) > 1e-12) {
    std::printf("consumer: forward wrong: got %.17g want %.17g\n", y.item(), want_y);
    return 1;
  }
  const auto& g = x.grad();
  if (g.shape() != xv.shape()) {
    std::printf("consumer: gradient has the wrong shape\n");
    return 1;
  }
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const double t = std::tanh(xv.flat(i));
    const double want = 1.0 - t * t;
    if (std::abs(g.flat(i) - want) > 1e-12) {
      std::printf("consumer: grad[%zu] = %.17g, want %.17g\n", i, g.flat(i), want);
      return 1;
    }
  }
  std::printf("consumer: OK (sum(tanh(x)) = %.6f, gradient checked on %zu entries)\n",
              y.item(), xv.size());
  return 0;
}
