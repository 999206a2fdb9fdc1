#include "worker/driver_launch.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>
#include <vector>

#include "common/driver_command.h"
#include "common/files.h"
#include "common/settings.h"
#include "common/status.h"
#include "common/strings.h"
#include "worker/binary_cache.h"
#include "worker/log_tail.h"

extern char** environ;

namespace kiln::worker {
namespace {

constexpr size_t kMaxDriverIdBytes = 512;

absl::Status BadDriverField(const std::string& id, std::string_view field, int64_t value,
                            std::string_view rule) {
  return absl::InvalidArgumentError(
      StrCat("invalid ", field, " ", value, " of driver ", id, ": must be ", rule));
}

}  // namespace

absl::StatusOr<proto::LaunchDriverRequest> ValidateDriverLaunch(const proto::LaunchDriverRequest& r,
                                                                const std::string& host) {
  const std::string& id = r.driver_id();
  if (id.size() > kMaxDriverIdBytes || !IsSafePathComponent(id) || !id.starts_with("driver-")) {
    return absl::InvalidArgumentError(
        StrCat("invalid driver_id '", EscapeControl(id.substr(0, 100)),
               "': expected driver-... of at most ", kMaxDriverIdBytes,
               " characters among [A-Za-z0-9._-]"));
  }
  if (r.attempt() < 0) return BadDriverField(id, "attempt", r.attempt(), ">= 0");
  if (!BinaryCache::IsValidDigest(r.binary_digest())) {
    return absl::InvalidArgumentError(
        StrCat("invalid binary_digest '", EscapeControl(r.binary_digest().substr(0, 100)),
               "' of driver ", id, " (expected 64 lowercase hex characters)"));
  }
  if (r.binary_size() < 0) return BadDriverField(id, "binary_size", r.binary_size(), ">= 0");
  if (r.cores() <= 0) return BadDriverField(id, "cores", r.cores(), "> 0");
  if (r.memory_mb() <= 0) return BadDriverField(id, "memory_mb", r.memory_mb(), "> 0");
  absl::StatusOr<Config> conf = Config::Deserialize(r.conf());
  if (!conf.ok()) return Annotate(conf.status(), StrCat("invalid conf of driver ", id));
  proto::LaunchDriverRequest out = r;
  out.clear_worker_token();
  if (!conf->IsSet("kiln.driver.host") && !host.empty()) {
    RETURN_IF_ERROR(Annotate(conf->Set("kiln.driver.host", host), "kiln.driver.host"));
    out.set_conf(conf->Serialize());
  }
  return out;
}

absl::StatusOr<std::string> PrepareDriverDir(const std::string& dir, int attempt,
                                             const std::string& cached_binary) {
  RETURN_IF_ERROR(MakeDirs(dir));
  for (const char* name : {"stdout", "stderr"}) {
    if (attempt == 0) break;
    const std::string from = StrCat(dir, "/", name);
    const std::string to = StrCat(from, ".", attempt - 1);
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("cannot rename ", from, " to ", to);
    }
  }
  const std::string path = StrCat(dir, "/", kDriverBinaryName);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot remove ", path);
  if (link(cached_binary.c_str(), path.c_str()) == 0) return path;
  if (errno == EXDEV) return cached_binary;
  return ErrnoError("cannot link ", cached_binary, " to ", path);
}

SpawnOptions DriverSpawnOptions(const proto::LaunchDriverRequest& r, const std::string& dir,
                                const std::string& binary, const rpc::Credentials& credentials) {
  SpawnOptions spawn;
  spawn.argv.push_back(binary);
  for (const std::string& arg : r.args()) spawn.argv.push_back(arg);
  // Without a contract variable the worker may have itself: the driver's own win.
  for (std::string& entry : rpc::EnvironmentWithoutSecret(environ)) {
    const std::string_view name = std::string_view(entry).substr(0, entry.find('='));
    if (name == kSubmitConfEnv || name == kDriverIdEnv || name == kDriverAttemptEnv ||
        name == kCredentialsOnStdinEnv) {
      continue;
    }
    spawn.env.push_back(std::move(entry));
  }
  spawn.env.push_back(StrCat(kSubmitConfEnv, "=", r.conf()));
  spawn.env.push_back(StrCat(kDriverIdEnv, "=", r.driver_id()));
  spawn.env.push_back(StrCat(kDriverAttemptEnv, "=", r.attempt()));
  spawn.env.push_back(StrCat(kCredentialsOnStdinEnv, "=1"));
  spawn.cwd = dir;
  spawn.stdout_path = dir + "/stdout";
  spawn.stderr_path = dir + "/stderr";
  spawn.die_with_parent = true;
  spawn.stdin_data = rpc::EncodeCredentials(credentials);
  return spawn;
}

DriverEnd DescribeDriverExit(const ExitInfo& exit, bool killed, const std::string& dir) {
  if (killed) return {proto::DRIVER_KILLED, StrCat("killed on request (", exit.ToString(), ")")};
  if (!exit.signaled && exit.exit_code == 0) return {proto::DRIVER_FINISHED, "exited normally"};
  DriverEnd end{proto::DRIVER_FAILED,
                exit.signaled ? exit.ToString() : StrCat("exited with code ", exit.exit_code)};
  const std::string last = TailOfFile(StrCat(dir, "/stderr"), 1);
  if (!last.empty()) StrAppend(&end.message, "; last line of its stderr: ", last);
  return end;
}

std::string DriverStateName(proto::DriverState state) {
  return proto::DriverState_Name(state).substr(std::string_view("DRIVER_").size());
}

}  // namespace kiln::worker
