// kiln-history --dir D [--host H] [--port P] [--update-interval T]: serves the UI and REST
// API of every application whose event log is in D (kiln.eventLog.dir), as Spark's
// history server does.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/cli.h"
#include "common/strings.h"
#include "common/units.h"
#include "common/version.h"
#include "driver/history_server.h"

namespace {

constexpr std::string_view kUsage =
    "usage: kiln-history --dir DIR [--host H] [--port P] [--update-interval T]\n"
    "  Serves the application UI and REST API of every event log in DIR\n"
    "  (kiln.eventLog.dir), finished or not, until SIGINT or SIGTERM.\n"
    "  --dir DIR             where the drivers write their event logs (required)\n"
    "  --host H              address to listen on (default 0.0.0.0)\n"
    "  --port P              port of the pages (default 18080; 0 = any free port)\n"
    "  --update-interval T   look for new and changed logs at most this often\n"
    "                        (default 10s, as Spark's)\n"
    "  --version             print the version\n";

int Usage(const absl::Status& error) {
  std::fprintf(stderr, "kiln-history: %s\n", std::string(error.message()).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kiln;
  std::string dir, host = "0.0.0.0";
  int port = 18080;
  std::chrono::milliseconds interval(10'000);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(std::string(kUsage).c_str(), stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("%s\n", VersionText("kiln-history").c_str());
      return 0;
    }
    if (arg != "--dir" && arg != "--host" && arg != "--port" && arg != "--update-interval") {
      return Usage(arg.starts_with("-") ? UnknownFlag("kiln-history", arg)
                                        : UnexpectedArgument("kiln-history", arg));
    }
    if (i + 1 >= argc) return Usage(MissingValue(arg));
    const std::string value = argv[++i];
    if (arg == "--dir") {
      dir = value;
    } else if (arg == "--host") {
      host = value;
    } else if (arg == "--port") {
      absl::StatusOr<int> parsed = ParsePortFlag(arg, value);
      if (!parsed.ok()) return Usage(parsed.status());
      port = *parsed;
    } else {
      absl::StatusOr<std::chrono::milliseconds> parsed = ParseDuration(value);
      if (!parsed.ok())
        return Usage(BadFlagValue(arg, value, std::string(View(parsed.status().message()))));
      interval = *parsed;
    }
  }
  if (dir.empty()) return Usage(MissingValue("--dir"));
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the server's thread starts
  internal::HistoryServer server(dir, interval);
  absl::StatusOr<int> bound = server.Start(host, port);
  if (!bound.ok()) {
    std::fprintf(stderr, "kiln-history: %s\n", std::string(bound.status().message()).c_str());
    return 1;
  }
  std::printf("kiln-history: %zu application(s) from %s at http://%s:%d\n", server.size(),
              dir.c_str(), host == "0.0.0.0" ? "127.0.0.1" : host.c_str(), *bound);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server.Stop();
  return 0;
}
