// kiln-exec-standby: what a standby executor process runs while it waits (see
// worker/standby_executors.h). kiln-worker forks it into a memory cgroup ahead of time;
// when an executor is launched, the worker sends the program to run over descriptor 3
// (common/standby_protocol.h) and this process execs it, keeping its pid and cgroup.
//
// It links only libc and touches little memory, so that it starts in well under a
// millisecond and an idle standby costs next to nothing. Not meant to be run by hand.
//
// Exit codes: 0 when the worker lets it go without a program, 126 when the program's
// description is not valid or its working directory cannot be entered, 127 when the
// program cannot be executed (as a process the worker forks itself).

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/standby_protocol.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "kiln-exec-standby[%d]: %s\n", static_cast<int>(getpid()), what);
  _exit(126);
}

// Reads exactly `size` bytes; false at end of stream or on an error.
bool ReadExactly(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int main() {
  using namespace kiln;
  if (write(kStandbyFd, &kStandbyReady, 1) != 1) Fail("descriptor 3 is not a standby socket");
  StandbyHeader header;
  int fds[3] = {-1, -1, -1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(fds))] = {};
  iovec iov{.iov_base = &header, .iov_len = sizeof(header)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t got;
  do {
    got = recvmsg(kStandbyFd, &msg, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got == 0) return 0;  // let go without a program
  if (got < 0) Fail("cannot read its program");
  size_t nfds = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      if (nfds > 3) Fail("too many descriptors");
      std::memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
    }
  }
  if (!ReadExactly(kStandbyFd, reinterpret_cast<char*>(&header) + got,
                   sizeof(header) - static_cast<size_t>(got)) ||
      header.magic != kStandbyMagic || header.body_bytes == 0 ||
      header.body_bytes > kMaxStandbyBody || header.argc == 0) {
    Fail("its program's header is not valid");
  }
  char* body = static_cast<char*>(std::malloc(header.body_bytes));
  // One pointer per string, and a null after the arguments and after the environment.
  const size_t strings = 1 + size_t{header.argc} + header.envc;
  char** pointers = static_cast<char**>(std::malloc((strings + 2) * sizeof(char*)));
  if (body == nullptr || pointers == nullptr) Fail("out of memory");
  if (!ReadExactly(kStandbyFd, body, header.body_bytes) || body[header.body_bytes - 1] != '\0') {
    Fail("its program's description is cut short");
  }
  close(kStandbyFd);
  // cwd, argv..., nullptr, env..., nullptr
  size_t n = 0;
  for (size_t at = 0; at < header.body_bytes; at += std::strlen(body + at) + 1) {
    if (n == strings) Fail("its program has more strings than it says");
    pointers[n + (n > header.argc ? 1 : 0)] = body + at;
    ++n;
  }
  if (n != strings) Fail("its program has fewer strings than it says");
  char* const cwd = pointers[0];
  char** const argv = pointers + 1;
  argv[header.argc] = nullptr;
  char** const envp = argv + header.argc + 1;
  envp[header.envc] = nullptr;

  size_t next = 0;
  int out = -1, err = -1, in = -1;
  if ((header.fds & kStandbyHasOut) != 0 && next < nfds) out = fds[next++];
  if ((header.fds & kStandbyHasErr) != 0 && next < nfds) err = fds[next++];
  if ((header.fds & kStandbyHasIn) != 0 && next < nfds) in = fds[next++];
  if (out >= 0) dup2(out, STDOUT_FILENO);
  if (err >= 0) dup2(err, STDERR_FILENO);
  ExecProgram(in, cwd, argv, envp);
}
