#pragma once
// The console progress bar, in Spark's form, redrawn on stderr while a stage runs:
//   [Stage 1:=====>                 (12 + 4) / 200]
// Shown only when stderr is a terminal and kiln.ui.showConsoleProgress is true.
// Owns its drawing thread (Start/Stop). Thread-safe.

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "driver/task_scheduler.h"

namespace kiln::internal {

// One line of the bar for `p`, `width` columns wide.
std::string RenderProgress(const StageProgress& p, int width);

class ProgressBar {
 public:
  explicit ProgressBar(const TaskScheduler* tasks) : tasks_(tasks) {}
  ~ProgressBar() { Stop(); }
  void Start();
  void Stop();

 private:
  void Loop();

  const TaskScheduler* tasks_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kiln::internal
