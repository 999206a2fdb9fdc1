#include "driver/submit_cluster.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/binary_digest.h"
#include "common/clients/master_client.h"
#include "common/files.h"
#include "common/master_url.h"
#include "common/rpc_security.h"
#include "common/strings.h"
#include "proto/common.pb.h"

namespace kiln::submit {
namespace {

constexpr int kExitFailure = 1;

int Fail(std::string_view message) {
  std::fprintf(stderr, "kiln-submit: %s\n", std::string(message).c_str());
  return kExitFailure;
}

// A client of the first master in kiln.master (checked to be kiln://), with the
// credentials of the settings.
absl::StatusOr<std::unique_ptr<MasterClient>> ConnectMaster(const Config& conf, char** environ) {
  absl::StatusOr<MasterUrl> url = ParseMasterUrl(conf.GetString("kiln.master"));
  if (!url.ok()) return url.status();
  absl::StatusOr<rpc::Credentials> credentials = rpc::LoadCredentials(conf, environ);
  if (!credentials.ok()) return credentials.status();
  MasterClientOptions options;
  options.address = url->masters.front().ToString();
  options.security = std::make_shared<const rpc::Security>(*std::move(credentials));
  options.retry_for = conf.GetDuration("kiln.master.connectTimeout");
  options.call_timeout = std::min(options.retry_for, std::chrono::milliseconds(10000));
  return std::make_unique<MasterClient>(options);
}

std::string StateName(proto::DriverState state) {
  std::string name = proto::DriverState_Name(state);
  return name.starts_with("DRIVER_") ? name.substr(7) : name;
}

}  // namespace

int SubmitToCluster(const SubmitArgs& args, char** environ) {
  const Config& conf = args.conf;
  const std::string master = conf.GetString("kiln.master");
  absl::StatusOr<std::unique_ptr<MasterClient>> client = ConnectMaster(conf, environ);
  if (!client.ok()) return Fail(View(client.status().message()));
  absl::StatusOr<std::string> digest = CachedSha256File(args.app, DigestCacheDir());
  if (!digest.ok()) return Fail(View(digest.status().message()));
  std::error_code ec;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(args.app, ec));
  if (ec) return Fail(StrCat("cannot read the size of ", args.app, ": ", ec.message()));
  if (absl::Status uploaded = (*client)->UploadDriverBinary(args.app, *digest, size);
      !uploaded.ok()) {
    return Fail(
        StrCat("cannot upload ", args.app, " to master ", master, ": ", View(uploaded.message())));
  }
  proto::SubmitDriverRequest request;
  request.set_name(conf.GetString("kiln.app.name"));
  request.set_binary_digest(*digest);
  request.set_binary_size(size);
  for (const std::string& arg : args.app_args) request.add_args(arg);
  request.set_conf(conf.Serialize());
  request.set_cores(static_cast<int>(conf.GetInt("kiln.driver.cores")));
  request.set_memory_mb(conf.GetMemoryMb("kiln.driver.memory"));
  request.set_supervise(conf.GetBool("kiln.driver.supervise"));
  request.set_max_relaunches(static_cast<int>(conf.GetInt("kiln.driver.supervise.maxRelaunches")));
  const char* user = std::getenv("USER");
  request.set_user(user != nullptr ? user : "");
  // One id for every retry: a lost reply does not submit the driver twice.
  request.set_request_id(StrCat("submit-", getpid(), "-", absl::ToUnixNanos(absl::Now()), "-",
                                std::random_device{}()));
  absl::StatusOr<proto::SubmitDriverReply> reply = (*client)->SubmitDriver(request);
  if (absl::IsFailedPrecondition(reply.status()) &&
      absl::StrContains(reply.status().message(), "UploadDriverBinary first")) {
    // The master let the binary go between the upload and now (the last driver running
    // from it ended): once more.
    if (absl::Status again = (*client)->UploadDriverBinary(args.app, *digest, size); !again.ok()) {
      return Fail(
          StrCat("cannot upload ", args.app, " to master ", master, ": ", View(again.message())));
    }
    reply = (*client)->SubmitDriver(request);
  }
  if (!reply.ok()) {
    return Fail(StrCat("master ", master, " refused the driver: ", View(reply.status().message())));
  }
  std::printf("%s\n", reply->driver_id().c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "kiln-submit: driver %s submitted to %s; its output goes to "
               "<work-dir>/%s/ on the worker that runs it (kiln-submit --master %s --status %s)\n",
               reply->driver_id().c_str(), master.c_str(), reply->driver_id().c_str(),
               master.c_str(), reply->driver_id().c_str());
  return 0;
}

int PrintDriverStatus(const SubmitArgs& args, char** environ) {
  const std::string master = args.conf.GetString("kiln.master");
  absl::StatusOr<std::unique_ptr<MasterClient>> client = ConnectMaster(args.conf, environ);
  if (!client.ok()) return Fail(View(client.status().message()));
  absl::StatusOr<proto::DriverStatusReply> status = (*client)->DriverStatus(args.driver_id);
  if (!status.ok()) {
    return Fail(StrCat("master ", master, ": ", View(status.status().message())));
  }
  std::printf("%s %s\n", args.driver_id.c_str(), StateName(status->state()).c_str());
  std::printf("  name:        %s\n", status->name().c_str());
  if (!status->worker_id().empty()) {
    std::printf("  worker:      %s (%s)\n", status->worker_id().c_str(),
                status->worker_address().c_str());
  }
  if (!status->app_id().empty()) std::printf("  application: %s\n", status->app_id().c_str());
  std::printf("  relaunches:  %d\n", status->relaunches());
  if (!status->message().empty()) std::printf("  message:     %s\n", status->message().c_str());
  return 0;
}

int KillDriver(const SubmitArgs& args, char** environ) {
  const std::string master = args.conf.GetString("kiln.master");
  absl::StatusOr<std::unique_ptr<MasterClient>> client = ConnectMaster(args.conf, environ);
  if (!client.ok()) return Fail(View(client.status().message()));
  absl::StatusOr<proto::KillDriverReply> reply = (*client)->KillDriver(args.driver_id);
  if (!reply.ok()) return Fail(StrCat("master ", master, ": ", View(reply.status().message())));
  std::printf("%s %s\n", args.driver_id.c_str(), StateName(reply->state()).c_str());
  return 0;
}

}  // namespace kiln::submit
