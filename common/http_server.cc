#include "common/http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "common/ports.h"
#include "common/status.h"
#include "common/strings.h"

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string Render(const HttpResponse& r, bool head, std::string_view extra_headers = "") {
  std::string out =
      StrCat("HTTP/1.1 ", r.status, " ", ReasonPhrase(r.status),
             "\r\nContent-Type: ", r.content_type, "\r\nContent-Length: ", r.body.size(),
             "\r\nConnection: close\r\nCache-Control: no-store"
             "\r\nX-Content-Type-Options: nosniff\r\n",
             extra_headers, "\r\n");
  if (!head) out += r.body;
  return out;
}

HttpResponse Plain(int status, std::string_view text) {
  return HttpResponse{.status = status, .content_type = "text/plain", .body = StrCat(text, "\n")};
}

}  // namespace

struct HttpServer::Connection {
  ScopedFd fd;
  Clock::time_point deadline;
  std::string in;   // the request so far
  std::string out;  // the response, once the request is whole
  size_t sent = 0;
  bool responding = false;
};

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& path, std::function<HttpResponse()> handler) {
  handlers_[path] = std::move(handler);
}

void HttpServer::GetUnder(const std::string& prefix,
                          std::function<HttpResponse(std::string_view)> handler) {
  prefix_handlers_[prefix] = std::move(handler);
}

absl::StatusOr<int> HttpServer::Start(const std::string& host, int port) {
  RETURN_IF_ERROR(CheckPortFree(host, port));
  const auto cannot_listen = [&] {
    return absl::UnavailableError(
        StrCat("cannot listen on ", host, ":", port, " (is the host an address of this machine?)"));
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return cannot_listen();
  }
  for (addrinfo* a = found; a != nullptr && listen_fd_.get() < 0; a = a->ai_next) {
    ScopedFd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) continue;
    // Not SO_REUSEPORT: a second daemon on the same port must fail, not share it.
    int yes = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && listen(fd.get(), 128) == 0) {
      listen_fd_ = std::move(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd_.get() < 0) return cannot_listen();
  sockaddr_storage bound{};
  socklen_t size = sizeof(bound);
  getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&bound), &size);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) return ErrnoError("pipe failed");
  wake_read_.Reset(wake[0]);
  wake_write_.Reset(wake[1]);
  thread_ = std::thread([this] { Loop(); });
  return bound_port;
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  (void)!write(wake_write_.get(), "x", 1);
  thread_.join();
  listen_fd_.Reset();
}

std::string HttpServer::Respond(std::string_view request) const {
  const std::string_view line = request.substr(0, request.find("\r\n"));
  const std::vector<std::string_view> parts = Split(line, ' ', /*skip_empty=*/true);
  if (parts.size() != 3 || !parts[1].starts_with("/") || !parts[2].starts_with("HTTP/1.")) {
    return Render(Plain(400, "bad request"), false);
  }
  const bool head = parts[0] == "HEAD";
  if (parts[0] != "GET" && !head) {
    return Render(Plain(405, "only GET and HEAD"), false, "Allow: GET, HEAD\r\n");
  }
  const std::string_view path = parts[1].substr(0, parts[1].find('?'));
  auto it = handlers_.find(path);
  if (it != handlers_.end()) return Render(it->second(), head);
  for (const auto& [prefix, handler] : prefix_handlers_) {
    if (path.starts_with(prefix)) return Render(handler(path.substr(prefix.size())), head);
  }
  return Render(Plain(404, "not found"), head);
}

void HttpServer::Loop() {
  std::vector<Connection> connections;  // in the order they were accepted
  std::vector<pollfd> polled;
  for (;;) {
    const Clock::time_point now = Clock::now();
    // Past its deadline: a request not sent in time, a response not taken in time.
    std::erase_if(connections, [&](const Connection& c) { return c.deadline <= now; });
    polled.assign({{wake_read_.get(), POLLIN, 0}, {listen_fd_.get(), POLLIN, 0}});
    Clock::time_point wake_at = now + std::chrono::seconds(1);
    for (const Connection& c : connections) {
      polled.push_back({c.fd.get(), static_cast<short>(c.responding ? POLLOUT : POLLIN), 0});
      wake_at = std::min(wake_at, c.deadline);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now);
    if (poll(polled.data(), polled.size(),
             static_cast<int>(std::max<int64_t>(0, wait.count())) + 1) < 0 &&
        errno != EINTR) {
      return;
    }
    if (polled[0].revents != 0) return;  // Stop()
    for (size_t i = 0; i < connections.size(); ++i) {
      Connection& c = connections[i];
      const short revents = polled[i + 2].revents;
      if (revents == 0) continue;
      if (!c.responding) {
        char buf[4096];
        const ssize_t n = recv(c.fd.get(), buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          c.deadline = Clock::time_point::min();  // the client went away
          continue;
        }
        if (n > 0) c.in.append(buf, static_cast<size_t>(n));
        const size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos && c.in.size() <= limits_.max_request_bytes) continue;
        c.out = end == std::string::npos ? Render(Plain(431, "request too large"), false)
                                         : Respond(std::string_view(c.in).substr(0, end));
        c.responding = true;
        c.deadline = Clock::now() + limits_.response_timeout;
      }
      const ssize_t n =
          send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) c.sent += static_cast<size_t>(n);
      if (c.sent == c.out.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        c.deadline = Clock::time_point::min();  // done (or the client went away)
      }
    }
    if (polled[1].revents != 0) {
      for (;;) {
        ScopedFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (fd.get() < 0) break;
        // At the cap, the oldest connection makes room: clients that hold connections
        // open cannot keep the pages from answering.
        if (static_cast<int>(connections.size()) >= limits_.max_connections) {
          connections.erase(connections.begin());
        }
        connections.push_back(
            Connection{.fd = std::move(fd), .deadline = Clock::now() + limits_.request_timeout});
      }
    }
  }
}

}  // namespace kiln
