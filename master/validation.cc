#include "master/validation.h"

#include <string>
#include <string_view>

#include "common/strings.h"

namespace kiln::master {
namespace {

// Why `value` holds a control character (which could forge a log line), else "".
std::string BadControl(std::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return StrCat("contains a control character (byte ", +byte, ")");
    }
  }
  return "";
}

// A field that is empty, longer than `max` bytes or holds a control character: why,
// else "". Its value is never echoed back (a huge id would be copied into every error
// and log line).
std::string BadId(std::string_view value, size_t max) {
  if (value.empty()) return "is empty";
  if (value.size() > max) return StrCat("is longer than ", max, " bytes (", value.size(), ")");
  return BadControl(value);
}

}  // namespace

absl::Status ValidateRegistration(const WorkerRegistration& r) {
  auto bad = [&](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(StrCat("RegisterWorker: ", field, " ", why));
  };
  if (std::string why = BadId(r.id, Master::kMaxIdBytes); !why.empty()) {
    return bad("worker_id", why);
  }
  if (std::string why = BadId(r.host, Master::kMaxIdBytes); !why.empty()) {
    return bad("host", why);
  }
  if (r.port < 1 || r.port > 65535) return bad("port", StrCat(r.port, " is not in 1..65535"));
  if (r.ui_port < 0 || r.ui_port > 65535) {
    return bad("ui_port", StrCat(r.ui_port, " is not in 0..65535"));
  }
  if (r.cores < 1 || r.cores > Master::kMaxWorkerCores) {
    return bad("cores", StrCat("must be in 1..", Master::kMaxWorkerCores, ", got ", r.cores));
  }
  if (r.memory_mb < 1 || r.memory_mb > Master::kMaxWorkerMemoryMb) {
    return bad("memory_mb",
               StrCat("must be in 1..", Master::kMaxWorkerMemoryMb, ", got ", r.memory_mb));
  }
  for (const ReportedExecutor& e : r.executors) {
    if (std::string why = BadId(e.app_id, Master::kMaxIdBytes); !why.empty()) {
      return bad("executors.app_id", why);
    }
    if (e.executor_id < 0 || e.cores < 0 || e.memory_mb < 0) {
      return bad("executors", StrCat("executor ", e.executor_id, " of ", e.app_id,
                                     " has a negative id, cores or memory"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequest(const ApplicationRequest& r) {
  auto bad = [&](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(StrCat("RegisterApplication: ", field, " ", why));
  };
  if (r.memory_per_executor_mb <= 0) {
    return bad("memory_per_executor_mb", StrCat("must be > 0, got ", r.memory_per_executor_mb));
  }
  if (r.cores_per_executor < 0) {
    return bad("cores_per_executor", StrCat("must be >= 0, got ", r.cores_per_executor));
  }
  if (r.max_cores < 0) return bad("max_cores", StrCat("must be >= 0, got ", r.max_cores));
  if (r.executor_limit < -1) {
    return bad("initial_executors", StrCat("must be >= 0, got ", r.executor_limit));
  }
  if (std::string why = BadId(r.binary_digest, Master::kMaxIdBytes); !why.empty()) {
    return bad("binary_digest", why);
  }
  if (std::string why = BadId(r.driver_address, Master::kMaxIdBytes); !why.empty()) {
    return bad("driver_address", why);
  }
  if (r.name.size() > Master::kMaxNameBytes) {
    return bad("name", StrCat("is longer than ", Master::kMaxNameBytes, " bytes"));
  }
  if (std::string why = BadControl(r.name); !why.empty()) return bad("name", why);
  if (r.driver_id.size() > Master::kMaxIdBytes) {
    return bad("driver_id", StrCat("is longer than ", Master::kMaxIdBytes, " bytes"));
  }
  if (std::string why = BadControl(r.driver_id); !why.empty()) return bad("driver_id", why);
  // Shown as a link on the master's and workers' pages: a URL of this scheme, or nothing.
  if (!r.ui_url.empty() && !r.ui_url.starts_with("http://") && !r.ui_url.starts_with("https://")) {
    return bad("ui_url", "is not an http:// or https:// URL");
  }
  if (r.ui_url.size() > Master::kMaxIdBytes) {
    return bad("ui_url", StrCat("is longer than ", Master::kMaxIdBytes, " bytes"));
  }
  if (std::string why = BadControl(r.ui_url); !why.empty()) return bad("ui_url", why);
  return absl::OkStatus();
}

absl::Status ValidateDriverRequest(const DriverRequest& r) {
  auto bad = [&](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(StrCat("SubmitDriver: ", field, " ", why));
  };
  if (std::string why = BadId(r.binary_digest, Master::kMaxIdBytes); !why.empty()) {
    return bad("binary_digest", why);
  }
  if (r.binary_size < 0) return bad("binary_size", StrCat("must be >= 0, got ", r.binary_size));
  if (r.cores < 1 || r.cores > Master::kMaxWorkerCores) {
    return bad("cores", StrCat("must be in 1..", Master::kMaxWorkerCores, ", got ", r.cores));
  }
  if (r.memory_mb < 1 || r.memory_mb > Master::kMaxWorkerMemoryMb) {
    return bad("memory_mb",
               StrCat("must be in 1..", Master::kMaxWorkerMemoryMb, ", got ", r.memory_mb));
  }
  if (r.max_relaunches < 0 || r.max_relaunches > Master::kMaxDriverRelaunches) {
    return bad("max_relaunches",
               StrCat("must be in 0..", Master::kMaxDriverRelaunches, ", got ", r.max_relaunches));
  }
  if (r.name.size() > Master::kMaxNameBytes) {
    return bad("name", StrCat("is longer than ", Master::kMaxNameBytes, " bytes"));
  }
  if (std::string why = BadControl(r.name); !why.empty()) return bad("name", why);
  if (r.request_id.size() > Master::kMaxIdBytes) {
    return bad("request_id", StrCat("is longer than ", Master::kMaxIdBytes, " bytes"));
  }
  size_t bytes = r.conf.size();
  for (const std::string& arg : r.args) bytes += arg.size();
  if (bytes > Master::kMaxDriverCommandBytes) {
    return bad("args and conf",
               StrCat("hold more than ", Master::kMaxDriverCommandBytes, " bytes (", bytes, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateReclaim(const std::string& app_id, const std::string& token) {
  if (std::string why = BadId(app_id, Master::kMaxIdBytes); !why.empty()) {
    return absl::InvalidArgumentError(StrCat("RegisterApplication: reclaim_app_id ", why));
  }
  if (std::string why = BadId(token, Master::kMaxIdBytes); !why.empty()) {
    return absl::InvalidArgumentError(StrCat("RegisterApplication: reclaim_app_token ", why));
  }
  return absl::OkStatus();
}

}  // namespace kiln::master
