#pragma once
// A small read-only HTTP server for the status pages and JSON of the daemons and of the
// driver (GET and HEAD); the client calls to such pages are in http_client.h.
//
// The server is one thread with poll(2) and non-blocking sockets, so that slow or idle
// clients cannot hold it: each connection must send its request within
// Limits::request_timeout and take its response within response_timeout, and at most
// max_connections are open at once (a new one closes the oldest). Every response closes
// its connection. Handlers run on the server's thread, one at a time: they must be quick
// (render from memory). Thread-safe: Start/Stop from any one thread.
//
// Not cpp-httplib's server (its client is used in http_client.h): the one Debian 12 ships (0.11)
// gives each connection a pool thread with a per-read timeout only, no deadline for a
// whole request and no connection cap, so 32 clients sending a byte now and then kept
// the pages from answering anyone.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "common/files.h"

namespace kiln {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HttpServer {
 public:
  struct Limits {
    int max_connections = 64;
    std::chrono::milliseconds request_timeout{5'000};    // from accept to a whole request
    std::chrono::milliseconds response_timeout{10'000};  // to send the whole response
    size_t max_request_bytes = 16 << 10;                 // request line and headers
  };

  HttpServer() : HttpServer(Limits{}) {}
  explicit HttpServer(Limits limits) : limits_(limits) {}
  ~HttpServer();  // stops the server
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers a GET handler for an exact path. Call before Start.
  void Get(const std::string& path, std::function<HttpResponse()> handler);
  // Registers a GET handler for every path under `prefix` ("/logs/"), called with the
  // rest of the path (no query string; possibly empty). An exact path wins. The handler
  // must check what it is given: it comes from the client.
  void GetUnder(const std::string& prefix, std::function<HttpResponse(std::string_view)> handler);

  // Binds host:port (0 = ephemeral) and serves on a background thread; returns the port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  struct Connection;
  void Loop();
  // The whole response to `request` (the bytes up to the blank line).
  std::string Respond(std::string_view request) const;

  const Limits limits_;
  std::map<std::string, std::function<HttpResponse()>, std::less<>> handlers_;
  std::map<std::string, std::function<HttpResponse(std::string_view)>, std::less<>>
      prefix_handlers_;
  ScopedFd listen_fd_;
  ScopedFd wake_read_, wake_write_;  // a byte written here ends Loop()
  std::thread thread_;
};

}  // namespace kiln
