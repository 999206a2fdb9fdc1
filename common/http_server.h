#pragma once
// A small read-only HTTP server for the daemons' status pages and JSON (GET only),
// on cpp-httplib. Thread-safe; handlers run on the server's threads.

#include <functional>
#include <memory>
#include <string>
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

}  // namespace kiln
