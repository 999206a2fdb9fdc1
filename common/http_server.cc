#include "common/http_server.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "common/ports.h"
#include "common/status.h"
#include "common/strings.h"
#include "httplib.h"

namespace kiln {

HttpServer::HttpServer() : server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Get(const std::string& path, std::function<HttpResponse()> handler) {
  server_->Get(path, [handler](const httplib::Request&, httplib::Response& res) {
    HttpResponse r = handler();
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  });
}

absl::StatusOr<int> HttpServer::Start(const std::string& host, int port) {
  // Not httplib's default, which adds SO_REUSEPORT: a second daemon on the same port
  // would then start and share the port with the first.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  RETURN_IF_ERROR(CheckPortFree(host, port));
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host.c_str());
  } else if (!server_->bind_to_port(host.c_str(), port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", host, ":", port, " (is the host an address of this machine?)"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void HttpServer::Stop() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path,
                                    int timeout_ms) {
  httplib::Client client(host, port);
  client.set_connection_timeout(0, timeout_ms * 1000);
  client.set_read_timeout(0, timeout_ms * 1000);
  auto res = client.Get(path.c_str());
  std::string url = StrCat("http://", host, ":", port, path);
  if (!res) return absl::UnavailableError(StrCat("GET ", url, " failed"));
  if (res->status != 200) {
    return absl::UnavailableError(StrCat("GET ", url, " returned ", res->status));
  }
  return res->body;
}

int CheckHealth(std::string_view program, std::string host, int ui_port, int timeout_ms) {
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  const std::string url = StrCat("http://", host, ":", ui_port, "/health");
  httplib::Client client(host, ui_port);
  client.set_connection_timeout(0, timeout_ms * 1000);
  client.set_read_timeout(0, timeout_ms * 1000);
  auto res = client.Get("/health");
  std::string why;
  if (!res) {
    why = res.error() == httplib::Error::Connection
              ? "nothing answers on that port"
              : StrCat("no answer (", httplib::to_string(res.error()), ")");
  } else if (res->status != 200) {
    why = std::string(absl::StripAsciiWhitespace(res->body));
    if (why.empty()) why = StrCat("HTTP ", res->status);
  }
  if (!why.empty()) {
    std::fprintf(stderr, "%.*s: unhealthy: %s (%s)\n", static_cast<int>(program.size()),
                 program.data(), why.c_str(), url.c_str());
    return 1;
  }
  std::printf("%.*s: healthy (%s)\n", static_cast<int>(program.size()), program.data(),
              url.c_str());
  return 0;
}

}  // namespace kiln
