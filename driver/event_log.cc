#include "driver/event_log.h"

#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "driver/event_json.h"
#include "spdlog/spdlog.h"

namespace kiln::internal {
namespace {

// Past this, buffered lines go to the file without waiting for the stage's end.
constexpr size_t kFlushBytes = 256 << 10;

}  // namespace

std::string EventLogPath(const std::string& dir, const std::string& app_id, bool in_progress) {
  return StrCat(dir, "/", app_id, in_progress ? ".inprogress" : "");
}

absl::StatusOr<std::unique_ptr<EventLogWriter>> EventLogWriter::Open(const std::string& dir,
                                                                     const std::string& app_id) {
  absl::Status made = MakeDirs(dir);
  if (!made.ok()) {
    return absl::Status(made.code(), StrCat("kiln.eventLog.dir: ", View(made.message())));
  }
  const std::string path = EventLogPath(dir, app_id, /*in_progress=*/true);
  absl::StatusOr<ScopedFd> fd =
      OpenFile(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, "event log (kiln.eventLog.dir)");
  if (!fd.ok()) return fd.status();
  return std::unique_ptr<EventLogWriter>(new EventLogWriter(dir, app_id, *std::move(fd)));
}

EventLogWriter::EventLogWriter(std::string dir, std::string app_id, ScopedFd fd)
    : dir_(std::move(dir)),
      app_id_(std::move(app_id)),
      path_(EventLogPath(dir_, app_id_, true)),
      fd_(std::move(fd)) {}

EventLogWriter::~EventLogWriter() { Flush(); }

void EventLogWriter::OnEvent(const Event& event) {
  if (failed_ || !fd_.valid()) return;
  buffer_ += EventToJson(event);
  buffer_ += '\n';
  const bool boundary = std::holds_alternative<JobEnd>(event) ||
                        std::holds_alternative<StageCompleted>(event) ||
                        std::holds_alternative<ApplicationStart>(event);
  if (std::holds_alternative<ApplicationEnd>(event)) {
    Close();
  } else if (boundary || buffer_.size() >= kFlushBytes) {
    Flush();
  }
}

void EventLogWriter::Flush() {
  if (buffer_.empty() || failed_ || !fd_.valid()) return;
  absl::Status written = WriteAll(fd_.get(), buffer_, path_);
  buffer_.clear();
  if (!written.ok()) {
    failed_ = true;
    spdlog::warn("event log: {}; the rest of this application's events are not logged",
                 View(written.message()));
  }
}

void EventLogWriter::Close() {
  Flush();
  absl::Status closed = fd_.Close(path_);
  if (!closed.ok() || failed_) {
    if (!closed.ok()) spdlog::warn("event log: {}", View(closed.message()));
    return;  // left as .inprogress: a reader treats it as an application cut short
  }
  const std::string done = EventLogPath(dir_, app_id_, false);
  if (::rename(path_.c_str(), done.c_str()) != 0) {
    spdlog::warn("event log: cannot rename {} to {}: {}", path_, done, std::strerror(errno));
    return;
  }
  path_ = done;
}

absl::StatusOr<EventLogContents> ReadEventLog(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  EventLogContents out;
  std::string_view rest = *text;
  int64_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    const size_t nl = rest.find('\n');
    const bool complete = nl != std::string_view::npos;
    std::string_view line = rest.substr(0, complete ? nl : rest.size());
    rest.remove_prefix(complete ? nl + 1 : rest.size());
    if (line.empty()) continue;
    absl::StatusOr<std::optional<Event>> event = EventFromJson(line);
    if (!event.ok()) {
      if (!complete) {  // the writer died in the middle of this line
        out.truncated = true;
        break;
      }
      return absl::DataLossError(
          StrCat("event log ", path, " line ", line_no, ": ", View(event.status().message())));
    }
    if (!event->has_value()) {
      ++out.unknown;
      continue;
    }
    out.events.push_back(**std::move(event));
  }
  return out;
}

}  // namespace kiln::internal
