#include "segdistill/core/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "segdistill/core/log.hpp"

namespace segdistill {

namespace {
std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld", s / 60, s % 60);
  return buffer;
}
}  // namespace

ProgressBar::ProgressBar(std::string label, std::int64_t total, double log_every_seconds)
    : label_(std::move(label)),
      total_(total),
      terminal_(::isatty(STDERR_FILENO) != 0),
      log_every_(log_every_seconds),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!finished_ && terminal_ && done_ > 0) std::fputc('\n', stderr);
}

void ProgressBar::update(std::int64_t done, const std::string& note) {
  done_ = done;
  note_ = note;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if ((terminal_ && since >= 0.1) || (!terminal_ && since >= log_every_) || done == total_) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  // Off a terminal, the last update may already have logged the final count.
  if (!terminal_ && note.empty() && drawn_done_ == done_) return;
  if (!note.empty()) note_ = note;
  draw(true);
}

void ProgressBar::draw(bool final_line) {
  drawn_done_ = done_;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : NAN;
  char counts[160];
  std::snprintf(counts, sizeof(counts), "%lld/%lld  %.2f it/s  elapsed %s  ETA %s", static_cast<long long>(done_),
                static_cast<long long>(total_), rate, duration_text(elapsed).c_str(),
                final_line ? "0:00" : duration_text(eta).c_str());
  if (terminal_) {
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * std::min<double>(1.0, static_cast<double>(done_) / total_)) : 0;
    std::string bar =
        std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %s  %s%s", label_.c_str(), bar.c_str(), counts, note_.c_str(), final_line ? "\n" : "");
    std::fflush(stderr);
  } else {
    logger()->info("{}: {}  {}", label_, counts, note_);
  }
}

}  // namespace segdistill
