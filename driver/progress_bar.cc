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

ProgressBar::ProgressBar(const TaskScheduler* tasks)
    : tasks_(tasks), loop_(std::chrono::milliseconds(200), [this] { Draw(); }) {}

void ProgressBar::Start() {
  if (!isatty(STDERR_FILENO)) return;
  started_ = true;
  loop_.Start();
}

void ProgressBar::Stop() {
  loop_.Stop();
  if (started_) Clear();
}

void ProgressBar::Clear() {
  if (shown_) std::fprintf(stderr, "\r%*s\r", 100, "");
  shown_ = false;
}

void ProgressBar::Draw() {
  StageProgress p = tasks_->Progress();
  if (!p.active) {
    Clear();
    active_ticks_ = 0;
    return;
  }
  // Like Spark, wait a little before showing a stage, so quick jobs stay quiet.
  if (++active_ticks_ < 3) return;
  struct winsize ws {};
  int width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
  std::string line = RenderProgress(p, std::min(width - 1, 100));
  std::fprintf(stderr, "\r%s", line.c_str());
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace kiln::internal
