// A one-line progress bar on stderr: done/total, rate, ETA and a caller-supplied status.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace tapenet::examples {

class Progress {
 public:
  Progress(std::size_t total, std::string unit) : total_(total), unit_(std::move(unit)), start_(Clock::now()) {}

  // Redraws at most 5 times a second on a terminal, and every 10 s into a log file, where
  // each redraw is a new line (always on the last item).
  void update(std::size_t done, const std::string& status = "") {
    const auto now = Clock::now();
    const auto interval = tty() ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
    if (done < total_ && now - last_draw_ < interval) return;
    last_draw_ = now;
    const double elapsed = seconds_since_start();
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
    const int width = 24, filled = total_ ? int(width * double(done) / total_) : width;
    std::string bar(filled, '=');
    bar.resize(width, ' ');
    std::fprintf(stderr, "%s[%s] %zu/%zu %.1f %s/s ETA %s %s", tty() ? "\r" : "", bar.c_str(), done, total_, rate,
                 unit_.c_str(), clock_str(eta).c_str(), status.c_str());
    if (!tty() || done >= total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

  double seconds_since_start() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  static bool tty() { return ::isatty(2); }
  static std::string clock_str(double s) {
    char buf[32];
    long t = long(s);
    std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    return buf;
  }

  std::size_t total_;
  std::string unit_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
};

}  // namespace tapenet::examples
