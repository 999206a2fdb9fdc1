// The daemons' HTTP server on 127.0.0.1: what it answers, and that idle, slow or
// oversized clients cannot keep it from answering others.
#include "common/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/http_client.h"
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln {
namespace {

using std::chrono::milliseconds;

// A TCP connection to 127.0.0.1:port (the test fails if it cannot connect).
ScopedFd Connect(int port) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

// Sends `request` and reads until the server closes, for at most `timeout`.
std::string Exchange(int port, const std::string& request,
                     milliseconds timeout = milliseconds(5000)) {
  ScopedFd fd = Connect(port);
  REQUIRE(send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct Served {
  explicit Served(HttpServer::Limits limits = {}) : server(limits) {
    server.Get("/json", [] { return HttpResponse{.body = R"({"ok":true})"}; });
    server.Get("/", [] {
      return HttpResponse{.content_type = "text/html; charset=utf-8", .body = "<p>page</p>"};
    });
    server.Get("/logs/index", [] { return HttpResponse{.body = "exact"}; });
    server.GetUnder("/logs/", [](std::string_view rest) {
      return HttpResponse{.body = "under:" + std::string(rest)};
    });
    absl::StatusOr<int> bound = server.Start("127.0.0.1", 0);
    REQUIRE_OK(bound.status());
    port = *bound;
  }
  HttpServer server;
  int port = 0;
};

TEST_CASE("http server: GET and HEAD of registered paths, 404 or 405 for others", "[http]") {
  Served s;
  const std::string json = Exchange(s.port, "GET /json?pretty=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(json.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(json, Catch::Contains("Content-Type: application/json\r\n") &&
                       Catch::Contains("Content-Length: 11\r\n") &&
                       Catch::Contains("Connection: close\r\n"));
  CHECK(json.ends_with("\r\n\r\n{\"ok\":true}"));
  const std::string head = Exchange(s.port, "HEAD / HTTP/1.0\r\n\r\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.ends_with("\r\n\r\n"));  // no body
  CHECK(Exchange(s.port, "GET /nothing HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
  const std::string post = Exchange(s.port, "POST /json HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  CHECK(post.starts_with("HTTP/1.1 405 "));
  CHECK_THAT(post, Catch::Contains("Allow: GET, HEAD"));
  CHECK(Exchange(s.port, "garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
  CHECK(Exchange(s.port, "GET /" + std::string(20000, 'a')).starts_with("HTTP/1.1 431 "));
  absl::StatusOr<std::string> body = HttpGet("127.0.0.1", s.port, "/json");
  REQUIRE_OK(body.status());
  CHECK(*body == R"({"ok":true})");
  // Paths under a prefix go to its handler, with the rest and without the query; an exact
  // path wins.
  CHECK(*HttpGet("127.0.0.1", s.port, "/logs/a/b/stderr?x=1") == "under:a/b/stderr");
  CHECK(*HttpGet("127.0.0.1", s.port, "/logs/") == "under:");
  CHECK(*HttpGet("127.0.0.1", s.port, "/logs/index") == "exact");
  CHECK(Exchange(s.port, "GET /logs HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
}

TEST_CASE("http server: idle and slow connections cannot keep the pages from answering", "[http]") {
  Served s;
  std::vector<ScopedFd> idle;
  for (int i = 0; i < 100; ++i) idle.push_back(Connect(s.port));  // more than the cap
  std::vector<ScopedFd> slow;
  for (int i = 0; i < 32; ++i) {
    slow.push_back(Connect(s.port));
    REQUIRE(send(slow.back().get(), "GET /json HTTP/1.1\r\nX-", 22, MSG_NOSIGNAL) == 22);
  }
  // All of them still open, the page answers (HttpGet's own 2 s timeout bounds it).
  absl::StatusOr<std::string> body = HttpGet("127.0.0.1", s.port, "/json");
  REQUIRE_OK(body.status());
  CHECK(*body == R"({"ok":true})");
}

TEST_CASE("http server: a connection that sends no whole request in time is closed", "[http]") {
  Served s(HttpServer::Limits{.request_timeout = milliseconds(200)});
  ScopedFd fd = Connect(s.port);
  REQUIRE(send(fd.get(), "GET /js", 7, MSG_NOSIGNAL) == 7);
  pollfd p{fd.get(), POLLIN, 0};
  REQUIRE(poll(&p, 1, 10'000) == 1);  // well past the 200 ms (a bound, not a timing)
  char buf[16];
  CHECK(recv(fd.get(), buf, sizeof(buf), 0) == 0);  // closed, nothing sent
}

}  // namespace
}  // namespace kiln
