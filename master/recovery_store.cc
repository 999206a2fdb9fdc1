#include "master/recovery_store.h"

#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace kiln::master {

using Json = nlohmann::json;

std::string EncodeState(const PersistedState& state) {
  Json out = {{"version", 1},
              {"workers", Json::array()},
              {"apps", Json::array()},
              {"drivers", Json::array()}};
  for (const PersistedWorker& w : state.workers) {
    out["workers"].push_back({{"id", w.id},
                              {"host", w.host},
                              {"port", w.port},
                              {"ui_port", w.ui_port},
                              {"cores", w.cores},
                              {"memory_mb", w.memory_mb},
                              {"token", w.token}});
  }
  for (const PersistedApp& a : state.apps) {
    const ApplicationRequest& r = a.request;
    out["apps"].push_back({{"id", a.id},
                           {"token", a.token},
                           {"start_ms", a.start_ms},
                           {"next_executor_id", a.next_executor_id},
                           {"name", r.name},
                           {"cores_per_executor", r.cores_per_executor},
                           {"memory_per_executor_mb", r.memory_per_executor_mb},
                           {"memory_overhead_mb", r.memory_overhead_mb},
                           {"max_cores", r.max_cores},
                           {"binary_digest", r.binary_digest},
                           {"binary_size", r.binary_size},
                           {"driver_address", r.driver_address},
                           {"user", r.user},
                           {"executor_limit", r.executor_limit},
                           {"ui_url", r.ui_url}});
  }
  for (const PersistedDriver& d : state.drivers) {
    const DriverRequest& r = d.request;
    out["drivers"].push_back({{"id", d.id},
                              {"state", d.state},
                              {"worker_id", d.worker_id},
                              {"launches", d.launches},
                              {"relaunches", d.relaunches},
                              {"app_id", d.app_id},
                              {"submit_ms", d.submit_ms},
                              {"name", r.name},
                              {"binary_digest", r.binary_digest},
                              {"binary_size", r.binary_size},
                              {"args", r.args},
                              {"conf", r.conf},
                              {"cores", r.cores},
                              {"memory_mb", r.memory_mb},
                              {"supervise", r.supervise},
                              {"max_relaunches", r.max_relaunches},
                              {"user", r.user},
                              {"request_id", r.request_id}});
  }
  return out.dump(1) + "\n";
}

absl::StatusOr<PersistedState> DecodeState(const std::string& text) {
  try {
    const Json in = Json::parse(text);
    if (in.value("version", 0) != 1) return absl::DataLossError("unknown version");
    PersistedState state;
    for (const Json& w : in.at("workers")) {
      state.workers.push_back({.id = w.at("id").get<std::string>(),
                               .host = w.at("host").get<std::string>(),
                               .port = w.at("port").get<int>(),
                               .ui_port = w.at("ui_port").get<int>(),
                               .cores = w.at("cores").get<int>(),
                               .memory_mb = w.at("memory_mb").get<int64_t>(),
                               .token = w.at("token").get<std::string>()});
    }
    for (const Json& a : in.at("apps")) {
      PersistedApp app{.id = a.at("id").get<std::string>(),
                       .token = a.at("token").get<std::string>(),
                       .request = {},
                       .start_ms = a.at("start_ms").get<int64_t>(),
                       .next_executor_id = a.at("next_executor_id").get<int>()};
      ApplicationRequest& r = app.request;
      r.name = a.at("name").get<std::string>();
      r.cores_per_executor = a.at("cores_per_executor").get<int>();
      r.memory_per_executor_mb = a.at("memory_per_executor_mb").get<int64_t>();
      r.memory_overhead_mb = a.at("memory_overhead_mb").get<int64_t>();
      r.max_cores = a.at("max_cores").get<int>();
      r.binary_digest = a.at("binary_digest").get<std::string>();
      r.binary_size = a.at("binary_size").get<int64_t>();
      r.driver_address = a.at("driver_address").get<std::string>();
      r.user = a.at("user").get<std::string>();
      r.executor_limit = a.at("executor_limit").get<int>();
      r.ui_url = a.value("ui_url", "");  // absent in files written before the driver's UI
      state.apps.push_back(std::move(app));
    }
    // Absent in files written before cluster deploy mode.
    for (const Json& d : in.value("drivers", Json::array())) {
      PersistedDriver driver{.id = d.at("id").get<std::string>(),
                             .request = {},
                             .state = d.at("state").get<std::string>(),
                             .worker_id = d.at("worker_id").get<std::string>(),
                             .launches = d.at("launches").get<int>(),
                             .relaunches = d.at("relaunches").get<int>(),
                             .app_id = d.at("app_id").get<std::string>(),
                             .submit_ms = d.at("submit_ms").get<int64_t>()};
      DriverRequest& r = driver.request;
      r.name = d.at("name").get<std::string>();
      r.binary_digest = d.at("binary_digest").get<std::string>();
      r.binary_size = d.at("binary_size").get<int64_t>();
      r.args = d.at("args").get<std::vector<std::string>>();
      r.conf = d.at("conf").get<std::string>();
      r.cores = d.at("cores").get<int>();
      r.memory_mb = d.at("memory_mb").get<int64_t>();
      r.supervise = d.at("supervise").get<bool>();
      r.max_relaunches = d.at("max_relaunches").get<int>();
      r.user = d.at("user").get<std::string>();
      r.request_id = d.at("request_id").get<std::string>();
      if (driver.state != "SUBMITTED" && driver.state != "RUNNING" &&
          driver.state != "RELAUNCHING") {
        return absl::DataLossError(StrCat("driver ", driver.id, " has state '", driver.state, "'"));
      }
      state.drivers.push_back(std::move(driver));
    }
    return state;
  } catch (const Json::exception& e) {
    return absl::DataLossError(e.what());
  }
}

absl::StatusOr<PersistedState> RecoveryStore::Load() const {
  absl::StatusOr<std::string> text = ReadFile(path());
  if (absl::IsNotFound(text.status())) return PersistedState{};
  if (!text.ok()) return text.status();
  absl::StatusOr<PersistedState> state = DecodeState(*text);
  if (!state.ok()) {
    return absl::DataLossError(StrCat(path(),
                                      " (kiln.deploy.recoveryDirectory) is not a master "
                                      "state file: ",
                                      View(state.status().message())));
  }
  return state;
}

absl::Status RecoveryStore::Save(const PersistedState& state) {
  std::string text = EncodeState(state);
  if (text == last_written_) return absl::OkStatus();
  RETURN_IF_ERROR(WriteFileAtomic(path(), text, /*durable=*/true));
  last_written_ = std::move(text);
  return absl::OkStatus();
}

}  // namespace kiln::master
