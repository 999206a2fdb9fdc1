#pragma once
// How a worker starts a driver in cluster deploy mode (kiln-submit --deploy-mode cluster):
// the contract between the worker, which builds the environment, and the driver runtime
// inside the application's binary, which reads it. Both sides use this file.
//
//   <binary> [APP_ARGS...]     (execve, no shell; cwd <work-dir>/<driver-id>/)
//   KILN_SUBMIT_CONF=<settings, kiln::Config::Serialize>   as kiln-submit sets it
//   KILN_DRIVER_ID=<driver-id>
//   KILN_DRIVER_ATTEMPT=<n>    0 for the first run, then one more per relaunch (--supervise)
//   KILN_CREDENTIALS_ON_STDIN=1   the worker's credentials (rpc::EncodeCredentials) on
//                                 stdin: the driver uses them instead of its settings'
//                                 secret file and TLS paths, which name files on the
//                                 machine it was submitted from

#include <string_view>

namespace kiln {

inline constexpr std::string_view kSubmitConfEnv = "KILN_SUBMIT_CONF";
inline constexpr std::string_view kDriverIdEnv = "KILN_DRIVER_ID";
inline constexpr std::string_view kDriverAttemptEnv = "KILN_DRIVER_ATTEMPT";
inline constexpr std::string_view kCredentialsOnStdinEnv = "KILN_CREDENTIALS_ON_STDIN";

}  // namespace kiln
