#include "common/master_url.h"

#include <thread>

#include "common/strings.h"

namespace kiln {

std::string HostPort::ToString() const { return StrCat(host, ":", port); }

absl::StatusOr<HostPort> ParseHostPort(std::string_view text, bool allow_zero_port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not host:port"));
  }
  HostPort hp;
  hp.host = std::string(text.substr(0, colon));
  int port = -1;
  if (!ParseNumber(text.substr(colon + 1), &port) || port < 0 || port > 65535 ||
      (port == 0 && !allow_zero_port)) {
    return absl::InvalidArgumentError(StrCat("'", text, "' has no valid port (1-65535)"));
  }
  hp.port = port;
  return hp;
}

absl::StatusOr<MasterUrl> ParseMasterUrl(std::string_view url) {
  MasterUrl out;
  out.original = std::string(url);
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("invalid master URL '", url, "': ", why,
               " (expected kiln://host:port, local, local[N], local[*] or local[N,F])"));
  };
  if (url == "local") {
    out.local = true;
    out.local_threads = 1;
    return out;
  }
  if (url.starts_with("local[") && url.ends_with("]")) {
    std::string_view n = url.substr(6, url.size() - 7);
    out.local = true;
    if (size_t comma = n.find(','); comma != std::string_view::npos) {
      if (!ParseNumber(n.substr(comma + 1), &out.local_max_failures) ||
          out.local_max_failures <= 0) {
        return bad("the task attempts F of local[N,F] must be a whole number > 0");
      }
      n = n.substr(0, comma);
    }
    if (n == "*") {
      out.local_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      return out;
    }
    if (!ParseNumber(n, &out.local_threads) || out.local_threads <= 0) {
      return bad("the thread count must be a whole number > 0 or *");
    }
    return out;
  }
  if (url.starts_with("local[")) return bad("no closing ] after local[");
  constexpr std::string_view kScheme = "kiln://";
  if (!url.starts_with(kScheme)) {
    if (url.find("://") != std::string_view::npos) return bad("unknown scheme");
    return bad("missing the kiln:// scheme");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.empty()) return bad("no host");
  for (std::string_view part : Split(rest, ',')) {
    if (part.find(':') == std::string_view::npos) return bad("no port");
    auto hp = ParseHostPort(part);
    if (!hp.ok()) return bad(View(hp.status().message()));
    out.masters.push_back(*std::move(hp));
  }
  return out;
}

}  // namespace kiln
