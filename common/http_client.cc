#include "common/http_client.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "httplib.h"

namespace kiln {

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
