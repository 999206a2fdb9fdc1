#pragma once
// Whether a daemon can have a TCP port, asked of the kernel before a server library
// (gRPC, httplib) tries and reports the failure in its own words.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kiln {

// OK when `port` on `host` (a name or address of this machine; "0.0.0.0" = every
// interface) can be bound now. UNAVAILABLE "127.0.0.1:7077 is in use by another
// process" when it is taken; the error names host:port for other failures too.
absl::Status CheckPortFree(const std::string& host, int port);

// True when `host` names only this machine: localhost, 127.x.y.z, ::1.
bool IsLoopbackHost(std::string_view host);

}  // namespace kiln
