#include "driver/event_json.h"

#include <array>
#include <stdexcept>

#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "runtime/task_metrics.h"

namespace kiln::runtime {

// Every figure by its field's name; zeros (the default) are left out, and names this
// version does not know are ignored.
void to_json(nlohmann::json& j, const TaskMetrics& m) {
  j = nlohmann::json::object();
#define KILN_METRIC_TO_JSON(name) \
  if (m.name != 0) j[#name] = m.name;
  KILN_TASK_METRICS(KILN_METRIC_TO_JSON)
#undef KILN_METRIC_TO_JSON
}

void from_json(const nlohmann::json& j, TaskMetrics& m) {
  m = TaskMetrics{};
#define KILN_METRIC_FROM_JSON(name) \
  if (auto it = j.find(#name); it != j.end()) m.name = it->get<int64_t>();
  KILN_TASK_METRICS(KILN_METRIC_FROM_JSON)
#undef KILN_METRIC_FROM_JSON
}

}  // namespace kiln::runtime

namespace kiln::internal {

void to_json(nlohmann::json& j, TaskState state) { j = TaskStateName(state); }

void from_json(const nlohmann::json& j, TaskState& state) {
  const std::string name = j.get<std::string>();
  std::optional<TaskState> parsed = ParseTaskState(name);
  if (!parsed) throw std::invalid_argument(StrCat("unknown task state \"", name, "\""));
  state = *parsed;
}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ApplicationStart::Setting, key, value, source)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ApplicationStart, app_id, app_name, master, user,
                                                kiln_version, time_ms, settings)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ApplicationEnd, final_state, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(JobStart, job_id, action, partitions, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(JobEnd, job_id, succeeded, error, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StageSubmitted, stage_id, attempt, job_id, name,
                                                num_tasks, num_partitions, shuffle_id,
                                                read_partitioning, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AccumulableInfo, id, name, update, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(StageCompleted, stage_id, attempt, failure, time_ms,
                                                accumulables)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TaskAttempt, task_id, stage_id, stage_attempt,
                                                index, partition, attempt, speculative, executor_id,
                                                host, launch_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TaskStart, task)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TaskEnd, task, state, error, finish_ms, metrics)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ExecutorAdded, executor_id, host, cores, worker_id,
                                                log_url, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ExecutorRemoved, executor_id, reason, failed,
                                                time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DatasetPersisted, dataset, name, num_partitions,
                                                storage_level, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DatasetUnpersisted, dataset, time_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BlockUpdated, executor_id, dataset, partition,
                                                stored, disk, bytes, time_ms)

namespace {

// In the order of Event's alternatives.
constexpr std::array<std::string_view, std::variant_size_v<Event>> kNames = {
    "ApplicationStart", "ApplicationEnd",   "JobStart",          "JobEnd",        "StageSubmitted",
    "StageCompleted",   "TaskStart",        "TaskEnd",           "ExecutorAdded", "ExecutorRemoved",
    "BlockUpdated",     "DatasetPersisted", "DatasetUnpersisted"};

template <size_t I = 0>
std::optional<Event> ParseAlternative(std::string_view name, const nlohmann::json& j) {
  if constexpr (I == std::variant_size_v<Event>) {
    return std::nullopt;
  } else {
    if (name == kNames[I]) return Event(j.get<std::variant_alternative_t<I, Event>>());
    return ParseAlternative<I + 1>(name, j);
  }
}

}  // namespace

std::string_view EventName(const Event& event) { return kNames[event.index()]; }

std::string EventToJson(const Event& event) {
  nlohmann::json j;
  std::visit([&](const auto& e) { j = e; }, event);
  j["Event"] = EventName(event);
  // Invalid UTF-8 (a user's error text, a file name) is replaced, never thrown over.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::optional<Event>> EventFromJson(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::DataLossError("not a JSON object");
  if (!j.is_object()) return absl::DataLossError("not a JSON object");
  auto name = j.find("Event");
  if (name == j.end() || !name->is_string()) {
    return absl::DataLossError("no \"Event\" field naming the event");
  }
  try {
    return ParseAlternative(name->get<std::string>(), j);
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(
        StrCat("a field of ", name->get<std::string>(), " has the wrong type: ", e.what()));
  } catch (const std::invalid_argument& e) {
    return absl::DataLossError(StrCat(name->get<std::string>(), ": ", e.what()));
  }
}

}  // namespace kiln::internal
