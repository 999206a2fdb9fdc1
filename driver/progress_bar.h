#pragma once
// The console progress bar, in Spark's form, redrawn on stderr while a stage runs:
//   [Stage 1:=====>                 (12 + 4) / 200]
// Shown only when stderr is a terminal and kiln.ui.showConsoleProgress is true.
// Owns its drawing thread (Start/Stop). Thread-safe.

#include <string>

#include "common/background.h"
#include "driver/task_scheduler.h"

namespace kiln::internal {

// One line of the bar for `p`, `width` columns wide.
std::string RenderProgress(const StageProgress& p, int width);

class ProgressBar {
 public:
  explicit ProgressBar(const TaskScheduler* tasks);
  ~ProgressBar() { Stop(); }
  void Start();
  void Stop();

 private:
  void Draw();   // one tick
  void Clear();  // erases the bar if it is shown

  const TaskScheduler* tasks_;
  // Drawing state, touched by the loop's thread only (and by Stop once it has joined).
  bool started_ = false;
  bool shown_ = false;
  int active_ticks_ = 0;
  PeriodicThread loop_;
};

}  // namespace kiln::internal
