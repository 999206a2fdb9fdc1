#pragma once
// The event log (kiln.eventLog.enabled, kiln.eventLog.dir): every event of an application
// as JSON lines (event_json.h) in <dir>/<app-id>.inprogress while it runs, renamed to
// <dir>/<app-id> when it ends, as Spark names them. Lines are written as they come,
// buffered, and flushed at the end of every stage and job, so a reader sees each finished
// job while the application runs. A log cut short by a crash ends mid-line; its reader
// drops that line and keeps the rest.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/files.h"
#include "driver/events.h"

namespace kiln::internal {

// The file name of an application's log, while it runs and once it ended.
std::string EventLogPath(const std::string& dir, const std::string& app_id, bool in_progress);

// A listener that writes every event to the log. Open it before the first event.
class EventLogWriter final : public EventListener {
 public:
  // Creates `dir` (and its parents) if missing and <dir>/<app-id>.inprogress, which must
  // not exist. The error names the setting and the path.
  static absl::StatusOr<std::unique_ptr<EventLogWriter>> Open(const std::string& dir,
                                                              const std::string& app_id);
  ~EventLogWriter() override;

  // A write error is logged once; the events after it are dropped (the application goes
  // on: its log is a record, not its work).
  void OnEvent(const Event& event) override;
  const std::string& path() const { return path_; }

 private:
  EventLogWriter(std::string dir, std::string app_id, ScopedFd fd);
  void Flush();
  void Close();

  std::string dir_, app_id_, path_;
  ScopedFd fd_;
  std::string buffer_;
  bool failed_ = false;
};

struct EventLogContents {
  std::vector<Event> events;
  bool truncated = false;  // the last line was cut short (a crash) and was dropped
  int64_t unknown = 0;     // lines of an event kind this version does not know, skipped
};

// Reads a log (finished or in progress). An error names the path and the line.
absl::StatusOr<EventLogContents> ReadEventLog(const std::string& path);

}  // namespace kiln::internal
