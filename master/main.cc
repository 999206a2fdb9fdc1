// kiln-master: the composition root. Reads flags and settings, wires the Master to its
// gRPC service, web UI, liveness sweeper and worker command queue, and runs until SIGTERM
// or SIGINT.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "common/background.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/logging.h"
#include "common/mutexes.h"
#include "common/ready_file.h"
#include "common/rpc.h"
#include "common/rpc_metrics.h"
#include "common/rpc_security.h"
#include "common/settings.h"
#include "common/strings.h"
#include "common/version.h"
#include "master/driver_binaries.h"
#include "master/grpc_worker_commands.h"
#include "master/html_view.h"
#include "master/json_view.h"
#include "master/liveness_sweeper.h"
#include "master/master.h"
#include "master/master_flags.h"
#include "master/master_service.h"
#include "master/metrics_view.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace kiln::master {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

std::string ShownHost(const std::string& host) {
  if (host != "0.0.0.0" && host != "::") return host;
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Changes whenever a master starts, so workers can tell a restarted master.
std::string MasterId(const std::string& host) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
  return StrCat("master-", stamp, "-", host, "-", getpid());
}

// `stop_signals` are blocked in every thread; Run waits for one of them.
int Run(const MasterFlags& flags, const MasterSettings& settings, const sigset_t& stop_signals) {
  const std::string shown_host = ShownHost(flags.host);
  GrpcWorkerCommandsOptions command_options;
  command_options.max_message_bytes = settings.max_message_bytes;
  const auto security = std::make_shared<const rpc::Security>(settings.credentials);
  command_options.security = security;
  GrpcWorkerCommands commands(command_options);
  KeyedSerialQueue queue(8);  // worker commands, off the RPC threads, in order per worker

  MasterOptions options;
  options.spread_out = settings.spread_out;
  options.history_url = settings.history_url;
  options.max_executor_retries = settings.max_executor_retries;
  options.default_cores = settings.default_cores;
  options.recovery_timeout = settings.recovery_timeout;
  std::unique_ptr<RecoveryStore> store;
  absl::StatusOr<PersistedState> recovered = PersistedState{};
  if (!settings.recovery_dir.empty()) {
    store = std::make_unique<RecoveryStore>(settings.recovery_dir);
    absl::Status dir = MakeDirs(settings.recovery_dir);
    if (dir.ok()) recovered = store->Load();
    if (!dir.ok() || !recovered.ok()) {
      std::fprintf(stderr, "kiln-master: kiln.deploy.recoveryDirectory: %s\n",
                   std::string(View((dir.ok() ? recovered.status() : dir).message())).c_str());
      return kExitFailure;
    }
    options.store = store.get();
  }
  // Binaries uploaded for cluster deploy mode: kept with the recovery state (a restored
  // driver may need relaunching), else in a directory of this process's own.
  std::string binary_dir;
  if (!settings.recovery_dir.empty()) {
    binary_dir = settings.recovery_dir + "/driver-binaries";
  } else {
    const char* tmp = std::getenv("TMPDIR");
    absl::StatusOr<std::string> dir = MakeTempDir(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp",
                                                  "kiln-master-driver-binaries-");
    if (!dir.ok()) {
      std::fprintf(stderr, "kiln-master: %s\n", std::string(View(dir.status().message())).c_str());
      return kExitFailure;
    }
    binary_dir = *dir;
  }
  absl::Cleanup remove_binaries = [&] {
    if (settings.recovery_dir.empty()) (void)RemoveAll(binary_dir);
  };
  DriverBinaries binaries(binary_dir);
  options.binary_unused = [&binaries](const std::string& digest) { binaries.Remove(digest); };
  options.commands = &commands;
  options.dispatch = [&queue](const std::string& worker, std::function<void()> fn) {
    queue.Post(worker, std::move(fn));
  };
  options.master_id = MasterId(shown_host);
  Master master(std::move(options));
  if (store != nullptr) master.Restore(*recovered);
  MasterService service(&master, &binaries);

  RpcMetrics rpc_metrics;  // before the server, which records into it
  rpc::ServerOptions server_options;
  server_options.host = flags.host;
  server_options.port = flags.port;
  server_options.max_message_bytes = settings.max_message_bytes;
  server_options.security = security;
  server_options.metrics = &rpc_metrics;
  absl::StatusOr<rpc::RunningServer> server = rpc::StartServer(server_options, {&service});
  if (!server.ok()) {
    std::fprintf(stderr, "kiln-master: --port %d: %s\n", flags.port,
                 std::string(View(server.status().message())).c_str());
    return kExitFailure;
  }
  const std::string url = StrCat("kiln://", shown_host, ":", server->port);

  HttpServer ui;
  ui.Get("/json", [&master, &url] {
    ClusterView view = master.Snapshot();
    view.url = url;
    return HttpResponse{.content_type = "application/json", .body = RenderJson(view)};
  });
  ui.Get("/metrics", [&master, &rpc_metrics] {
    return HttpResponse{.content_type = std::string(kMetricsContentType),
                        .body = RenderMetrics(master.Snapshot(), rpc_metrics)};
  });
  ui.Get("/health", [] { return HttpResponse{.content_type = "text/plain", .body = "ok\n"}; });
  ui.Get("/", [&master, &url] {
    ClusterView view = master.Snapshot();
    view.url = url;
    return HttpResponse{.content_type = "text/html; charset=utf-8", .body = RenderHtml(view)};
  });
  absl::StatusOr<int> ui_port = ui.Start(flags.host, flags.ui_port);
  if (!ui_port.ok()) {
    std::fprintf(stderr, "kiln-master: --ui-port %d: %s\n", flags.ui_port,
                 std::string(View(ui_port.status().message())).c_str());
    server->server->Shutdown();
    return kExitFailure;
  }

  queue.Start();
  LivenessOptions liveness;
  liveness.worker_timeout = settings.worker_timeout;
  liveness.app_timeout = settings.app_timeout;
  LivenessSweeper sweeper(liveness, &master);
  sweeper.Start();

  spdlog::info("master started url={} ui=http://{}:{} id={} security=\"{}\"", url, shown_host,
               *ui_port, master.id(), security->Describe());
  if (!flags.ready_file.empty()) {
    absl::Status s = WriteReadyFile(
        flags.ready_file,
        {{"grpc_port", server->port}, {"ui_port", *ui_port}, {"pid", static_cast<int>(getpid())}});
    if (!s.ok()) {
      std::fprintf(stderr, "kiln-master: --ready-file: %s\n",
                   std::string(View(s.message())).c_str());
      sweeper.Stop();
      queue.Stop();
      ui.Stop();
      server->server->Shutdown();
      return kExitFailure;
    }
  }
  ReadyFileRemover ready_file(flags.ready_file);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("master stopping signal={}", signal_number);
  sweeper.Stop();
  ui.Stop();
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  queue.Stop();  // before `master` dies: queued commands call back into it
  spdlog::info("master stopped");
  return 0;
}

}  // namespace
}  // namespace kiln::master

int main(int argc, char** argv) {
  using namespace kiln::master;
  // Block the stop signals before any thread starts (threads inherit the mask), so that
  // they wait, pending, for Run's sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<MasterFlags> flags = ParseMasterFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr, "kiln-master: %s\n", std::string(flags.status().message()).c_str());
    return kExitUsage;
  }
  if (flags->help) {
    std::fputs(MasterUsage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("%s\n", kiln::VersionText("kiln-master").c_str());
    return 0;
  }
  if (flags->health) return kiln::CheckHealth("kiln-master", flags->host, flags->ui_port);
  absl::StatusOr<MasterSettings> settings = LoadMasterSettings(*flags, environ);
  if (!settings.ok()) {
    std::fprintf(stderr, "kiln-master: %s\n", std::string(settings.status().message()).c_str());
    return kExitUsage;
  }
  for (const std::string& warning :
       kiln::UnreadSettingWarnings(flags->conf, kiln::kMaster, "kiln-master")) {
    std::fprintf(stderr, "kiln-master: warning: %s\n", warning.c_str());
  }
  kiln::ConfigureMutexes();
  kiln::InitLogging("master");
  return Run(*flags, *settings, stop_signals);
}
