#pragma once
// The client calls the programs and tests make to Kiln's HTTP pages (cpp-httplib's
// client), kept apart from the server (http_server.h) so that applications, which serve
// pages but never fetch them, do not link cpp-httplib.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kiln {

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
