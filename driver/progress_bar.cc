#include "driver/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "common/strings.h"

namespace kiln::internal {

std::string RenderProgress(const StageProgress& p, int width) {
  std::string header = StrCat("[Stage ", p.stage_id, ":");
  std::string tail = StrCat("(", p.done, " + ", p.running, ") / ", p.total, "]");
  int bar = width - static_cast<int>(header.size() + tail.size());
  if (bar < 10) return StrCat(header, tail);
  int filled = p.total > 0 ? static_cast<int>(static_cast<int64_t>(bar) * p.done / p.total) : 0;
  std::string out = header;
  for (int i = 0; i < bar; ++i) {
    out.push_back(i < filled ? '=' : (i == filled ? '>' : ' '));
  }
  out += tail;
  return out;
}

void ProgressBar::Start() {
  if (!isatty(STDERR_FILENO)) return;
  thread_ = std::thread([this] { Loop(); });
}

void ProgressBar::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressBar::Loop() {
  bool shown = false;
  std::unique_lock<std::mutex> lock(mu_);
  auto clear = [&] {
    if (shown) std::fprintf(stderr, "\r%*s\r", 100, "");
    shown = false;
  };
  // Like Spark, wait a little before showing a stage, so quick jobs stay quiet.
  int active_ticks = 0;
  while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) {
    StageProgress p = tasks_->Progress();
    if (!p.active) {
      clear();
      active_ticks = 0;
      continue;
    }
    if (++active_ticks < 3) continue;
    struct winsize ws {};
    int width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    std::string line = RenderProgress(p, std::min(width - 1, 100));
    std::fprintf(stderr, "\r%s", line.c_str());
    std::fflush(stderr);
    shown = true;
  }
  clear();
}

}  // namespace kiln::internal
