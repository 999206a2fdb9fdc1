#include "worker/worker_logs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "common/files.h"
#include "common/strings.h"

namespace kiln::worker {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool AllDigits(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// An application or driver id: `prefix`, then id characters, no "..".
bool IsId(std::string_view s, std::string_view prefix) {
  if (!s.starts_with(prefix) || s.size() > 512 || s.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

// stdout, stderr, stdout.<n>, stderr.<n>.
bool IsLogName(std::string_view s) {
  for (std::string_view base : {"stdout", "stderr"}) {
    if (s == base) return true;
    if (s.starts_with(base) && s.size() > base.size() + 1 && s[base.size()] == '.' &&
        AllDigits(s.substr(base.size() + 1))) {
      return true;
    }
  }
  return false;
}

HttpResponse NoSuchLog() {
  return HttpResponse{.status = 404, .content_type = "text/plain", .body = "no such log\n"};
}

}  // namespace

HttpResponse ServeLog(const std::string& work_dir, std::string_view rest) {
  const std::vector<std::string_view> parts = Split(rest, '/', /*skip_empty=*/false);
  std::string path;
  if (parts.size() == 2 && IsId(parts[0], "driver-") && IsLogName(parts[1])) {
    path = StrCat(work_dir, "/", parts[0], "/", parts[1]);
  } else if (parts.size() == 3 && IsId(parts[0], "app-") && parts[1].starts_with("executor-") &&
             AllDigits(parts[1].substr(9)) && IsLogName(parts[2])) {
    path = StrCat(work_dir, "/", parts[0], "/", parts[1], "/", parts[2]);
  } else {
    return NoSuchLog();
  }
  absl::StatusOr<ScopedFd> fd = OpenFile(path, O_RDONLY | O_NOFOLLOW, "log");
  if (!fd.ok()) return NoSuchLog();
  struct stat st {};
  if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return NoSuchLog();
  const int64_t size = st.st_size;
  const int64_t start = size > kMaxLogBytes ? size - kMaxLogBytes : 0;
  std::string body;
  if (start > 0) body = StrCat("(the first ", start, " bytes are left out)\n");
  std::string tail(static_cast<size_t>(size - start), '\0');
  if (!tail.empty() &&
      !PreadFully(fd->get(), static_cast<uint64_t>(start), tail.data(), tail.size(), path).ok()) {
    return HttpResponse{.status = 500, .content_type = "text/plain", .body = "cannot read\n"};
  }
  body += tail;
  return HttpResponse{.content_type = "text/plain; charset=utf-8", .body = std::move(body)};
}

std::string ExecutorLogLinks(const std::string& app_id, int executor_id) {
  const std::string base = StrCat("/logs/", HtmlEscape(app_id), "/executor-", executor_id, "/");
  return StrCat("<a href=\"", base, "stdout\">stdout</a> <a href=\"", base, "stderr\">stderr</a>");
}

std::string DriverLogLinks(const std::string& driver_id) {
  const std::string base = StrCat("/logs/", HtmlEscape(driver_id), "/");
  return StrCat("<a href=\"", base, "stdout\">stdout</a> <a href=\"", base, "stderr\">stderr</a>");
}

}  // namespace kiln::worker
