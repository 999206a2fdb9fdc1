#pragma once
// What StandbyChild (common/subprocess.h) and its helper program, kiln-exec-standby
// (worker/exec_standby_main.cc), say to each other on the socket the helper has as
// descriptor 3. Plain C types only: the helper links nothing but libc.
//
//   helper -> parent: kStandbyReady, once it waits (it is in its cgroup then).
//   parent -> helper: a StandbyHeader, with the program's stdout, stderr and stdin
//   attached (SCM_RIGHTS, those whose kStandbyHas* bit is set, in that order), then
//   `body_bytes` of NUL-terminated strings: the working directory ("" = the helper's),
//   `argc` arguments (the first is the program's path), `envc` environment entries.
//   The helper then execs the program; the socket is closed on exec.
//
// ExecProgram, the end of every child's way to its program, is here too, so that Spawn
// and the helper share it.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>

namespace kiln {

inline constexpr int kStandbyFd = 3;
inline constexpr char kStandbyReady = 'R';
inline constexpr uint32_t kStandbyMagic = 0x4b534231;  // "KSB1"
inline constexpr uint32_t kStandbyHasOut = 1, kStandbyHasErr = 2, kStandbyHasIn = 4;
inline constexpr uint32_t kMaxStandbyBody = 64u << 20;

struct StandbyHeader {
  uint32_t magic = kStandbyMagic;
  uint32_t body_bytes = 0;
  uint32_t argc = 0;
  uint32_t envc = 0;
  uint32_t fds = 0;  // kStandbyHas* bits
};

// In a child (async-signal-safe calls only): stdin (`in_fd`, or /dev/null when < 0), the
// working directory (`cwd`, "" = unchanged), then the program; exits 126 when the
// directory cannot be entered, 127 when the program cannot be executed.
[[noreturn]] inline void ExecProgram(int in_fd, const char* cwd, char* const* argv,
                                     char* const* envp) {
  if (in_fd >= 0) {
    dup2(in_fd, STDIN_FILENO);
  } else {
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  }
  if (cwd[0] != '\0' && chdir(cwd) != 0) _exit(126);
  execve(argv[0], argv, envp);
  _exit(127);
}

}  // namespace kiln
