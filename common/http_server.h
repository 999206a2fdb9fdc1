#pragma once
// A small read-only HTTP server for the daemons' status pages and JSON (GET only),
// on cpp-httplib. Thread-safe; handlers run on the server's threads.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace kiln {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // stops the server

  // Registers a GET handler for an exact path. Call before Start.
  void Get(const std::string& path, std::function<HttpResponse()> handler);

  // Binds host:port (0 = ephemeral) and serves on a background thread; returns the port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// GET http://host:port/path with a timeout; returns the body or an error naming the URL.
absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path,
                                    int timeout_ms = 2000);

// The check behind `kiln-master --health` and `kiln-worker --health` (Docker healthchecks,
// scripts): GET http://host:ui_port/health, where a daemon answers 200 when it serves and
// 503 with the reason when it does not. Prints "PROGRAM: healthy (URL)" to stdout, or
// "PROGRAM: unhealthy: WHY (URL)" to stderr, and returns the exit code: 0 healthy, 1 not.
// `host` empty or 0.0.0.0 means 127.0.0.1.
int CheckHealth(std::string_view program, std::string host, int ui_port, int timeout_ms = 2000);

}  // namespace kiln
