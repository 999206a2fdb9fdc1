#pragma once
// What the master accepts from a worker's registration and an application's request:
// lengths, ranges, and no control characters (which could forge a log line). Errors
// are INVALID_ARGUMENT naming the call and the field, never echoing a value that is too
// long. Pure functions: thread-safe.

#include "absl/status/status.h"
#include "master/application_registry.h"
#include "master/master.h"

namespace kiln::master {

absl::Status ValidateRegistration(const WorkerRegistration& registration);
absl::Status ValidateRequest(const ApplicationRequest& request);
absl::Status ValidateDriverRequest(const DriverRequest& request);
// The id and token of an application its driver reclaims (Master::ReclaimApplication).
absl::Status ValidateReclaim(const std::string& app_id, const std::string& token);

}  // namespace kiln::master
