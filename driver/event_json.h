#pragma once
// Events as JSON, one object per line: the event log's format (event_log.h). Each object
// names its kind in "Event" ("TaskEnd", ...); the other fields are the struct's, in
// snake_case, and a task's metrics are an object of runtime::TaskMetrics's fields. A
// reader ignores fields it does not know and gives missing ones their defaults, so that
// logs written by older and newer versions stay readable.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "driver/events.h"

namespace kiln::internal {

// One line of JSON, without the newline.
std::string EventToJson(const Event& event);

// The event of one line; nullopt when its kind is one this version does not know (it is
// skipped). An error names what is wrong with the line.
absl::StatusOr<std::optional<Event>> EventFromJson(std::string_view line);

// The name of the event's kind, as "Event" holds it.
std::string_view EventName(const Event& event);

}  // namespace kiln::internal
