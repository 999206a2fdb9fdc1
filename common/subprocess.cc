#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "common/files.h"
#include "common/standby_protocol.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/wait.h"

extern char** environ;

namespace kiln {
namespace {

ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signaled = true;
    info.signal = WTERMSIG(status);
  } else {
    info.exit_code = WEXITSTATUS(status);
  }
  return info;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// A program's stdout, stderr and stdin, opened in the parent (close-on-exec: the child's
// dup2 copies stay open across execve, these do not); invalid = inherit (stdin:
// /dev/null).
struct ProgramFiles {
  ScopedFd out, err, in;
};

absl::StatusOr<ProgramFiles> OpenProgramFiles(const SpawnOptions& options) {
  ProgramFiles files;
  if (!options.stdout_path.empty()) {
    ASSIGN_OR_RETURN(files.out,
                     OpenFile(options.stdout_path, O_WRONLY | O_CREAT | O_APPEND, "stdout file"));
  }
  if (!options.stderr_path.empty()) {
    ASSIGN_OR_RETURN(files.err,
                     OpenFile(options.stderr_path, O_WRONLY | O_CREAT | O_APPEND, "stderr file"));
  }
  // stdin: a pipe holding all of stdin_data, its write end closed, so the parent never
  // blocks on a child that does not read.
  if (!options.stdin_data.empty()) {
    if (options.stdin_data.size() > kMaxStdinBytes) {
      return absl::InvalidArgumentError(StrCat("Spawn: stdin data of ", options.stdin_data.size(),
                                               " bytes exceeds ", kMaxStdinBytes));
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe failed");
    files.in = ScopedFd(fds[0]);
    ScopedFd write_end(fds[1]);
    RETURN_IF_ERROR(WriteAll(write_end.get(), options.stdin_data, "stdin pipe"));
  }
  return files;
}

// Forks with every signal blocked, so that the child cannot run one of the parent's
// handlers before execve; the child then resets them all (ResetChild).
pid_t ForkBlocked() {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return pid;
}

// In the child after fork, async-signal-safe calls only: death with the parent, a
// process group of its own, default signal dispositions and no mask.
void ResetChild(const SpawnOptions& options, pid_t parent) {
  if (options.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
  }
  if (options.new_process_group) setpgid(0, 0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// In the child: joins the cgroup whose cgroup.procs is open as `cgroup_fd` (if >= 0), or
// says so on stderr and exits with 125.
void JoinCgroup(int cgroup_fd) {
  if (cgroup_fd >= 0 && write(cgroup_fd, "0", 1) != 1) {  // "0": the writing process
    static constexpr char kMessage[] =
        "kiln: cannot join the memory cgroup given to this process\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(125);
  }
}

}  // namespace

std::string ExitInfo::ToString() const {
  if (signaled) return StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return StrCat("exit code ", exit_code);
}

absl::StatusOr<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed.
  std::vector<std::string> argv_copy = options.argv;
  std::vector<std::string> env_copy = options.env;
  std::vector<char*> argv = CStrings(argv_copy);
  std::vector<char*> envp = CStrings(env_copy);
  char** child_env = options.env.empty() ? environ : envp.data();
  ASSIGN_OR_RETURN(ProgramFiles files, OpenProgramFiles(options));
  ScopedFd cgroup;
  if (!options.cgroup_procs.empty()) {
    ASSIGN_OR_RETURN(cgroup, OpenFile(options.cgroup_procs, O_WRONLY, "cgroup file"));
  }
  const int out_fd = files.out.get(), err_fd = files.err.get(), in_fd = files.in.get();
  const int cgroup_fd = cgroup.get();
  const pid_t parent = getpid();
  const pid_t pid = ForkBlocked();
  if (pid < 0) return ErrnoError("fork failed");
  if (pid == 0) {
    ResetChild(options, parent);
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    JoinCgroup(cgroup_fd);
    ExecProgram(in_fd, options.cwd.c_str(), argv.data(), child_env);
  }
  return pid;
}

absl::StatusOr<std::unique_ptr<StandbyChild>> StandbyChild::Fork(
    const std::vector<std::string>& helper_argv, const SpawnOptions& options) {
  if (helper_argv.empty()) return absl::InvalidArgumentError("StandbyChild: empty helper argv");
  std::vector<std::string> argv_copy = helper_argv;
  std::vector<char*> argv = CStrings(argv_copy);
  std::string path_env = "PATH=/usr/bin:/bin";
  char* envp[] = {path_env.data(), nullptr};  // the helper needs nothing from the parent
  ScopedFd cgroup;
  if (!options.cgroup_procs.empty()) {
    ASSIGN_OR_RETURN(cgroup, OpenFile(options.cgroup_procs, O_WRONLY, "cgroup file"));
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return ErrnoError("socketpair failed");
  }
  ScopedFd parent_end(pair[0]), child_end(pair[1]);
  const int cgroup_fd = cgroup.get(), child_fd = child_end.get();
  const pid_t parent = getpid();
  const pid_t pid = ForkBlocked();
  if (pid < 0) return ErrnoError("fork failed");
  if (pid == 0) {
    ResetChild(options, parent);
    JoinCgroup(cgroup_fd);
    // dup2 clears close-on-exec on the copy: descriptor 3 is the only one the helper
    // keeps of the parent's (besides stdin, stdout and stderr).
    if (child_fd == kStandbyFd) {
      fcntl(child_fd, F_SETFD, 0);
    } else if (dup2(child_fd, kStandbyFd) != kStandbyFd) {
      _exit(126);
    }
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  return std::unique_ptr<StandbyChild>(new StandbyChild(pid, parent_end.Release()));
}

StandbyChild::~StandbyChild() {
  if (socket_ >= 0) close(socket_);
  if (!released_) {
    kill(pid_, SIGKILL);
    Wait(pid_);
  }
}

absl::Status StandbyChild::WaitReady(std::chrono::milliseconds timeout) {
  pollfd p{.fd = socket_, .events = POLLIN, .revents = 0};
  int n;
  do {
    n = poll(&p, 1, static_cast<int>(timeout.count()));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("poll failed");
  if (n == 0) {
    return absl::DeadlineExceededError(
        StrCat("the standby process ", pid_, " was not ready after ", timeout.count(), " ms"));
  }
  char byte = 0;
  ssize_t got;
  do {
    got = recv(socket_, &byte, 1, 0);
  } while (got < 0 && errno == EINTR);
  if (got == 1 && byte == kStandbyReady) return absl::OkStatus();
  // End of stream (or garbage): the helper has exited or is not one.
  kill(pid_, SIGKILL);
  const ExitInfo exit = Wait(pid_);
  released_ = true;  // reaped
  return absl::UnavailableError(
      StrCat("the standby process ", pid_, " ended before it was ready (", exit.ToString(),
             exit.code() == 125   ? ": it could not join its cgroup"
             : exit.code() == 127 ? ": its helper program could not be executed"
                                  : "",
             ")"));
}

absl::Status StandbyChild::Start(const SpawnOptions& program) {
  if (released_) {
    return absl::FailedPreconditionError("StandbyChild: its child was started or has ended");
  }
  if (program.argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  ASSIGN_OR_RETURN(ProgramFiles files, OpenProgramFiles(program));
  StandbyHeader header;
  std::string body = program.cwd;
  body.push_back('\0');
  for (const std::string& arg : program.argv) body.append(arg).push_back('\0');
  header.argc = static_cast<uint32_t>(program.argv.size());
  if (program.env.empty()) {
    for (char** e = environ; *e != nullptr; ++e, ++header.envc) body.append(*e).push_back('\0');
  } else {
    for (const std::string& e : program.env) body.append(e).push_back('\0');
    header.envc = static_cast<uint32_t>(program.env.size());
  }
  if (body.size() > kMaxStandbyBody) {
    return absl::InvalidArgumentError(
        StrCat("Spawn: arguments and environment of ", body.size(), " bytes"));
  }
  header.body_bytes = static_cast<uint32_t>(body.size());
  int fds[3];
  size_t nfds = 0;
  for (auto [fd, bit] :
       {std::pair{files.out.get(), kStandbyHasOut}, std::pair{files.err.get(), kStandbyHasErr},
        std::pair{files.in.get(), kStandbyHasIn}}) {
    if (fd < 0) continue;
    fds[nfds++] = fd;
    header.fds |= bit;
  }
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(fds))] = {};
  iovec iov{.iov_base = &header, .iov_len = sizeof(header)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  ssize_t sent;
  do {
    sent = sendmsg(socket_, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  // A stream socket takes a header this small whole, descriptors with it.
  if (sent != static_cast<ssize_t>(sizeof(header))) {
    return ErrnoError("cannot hand its program to the standby process ", pid_);
  }
  for (std::string_view rest = body; !rest.empty();) {
    const ssize_t n = send(socket_, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("cannot hand its program to the standby process ", pid_);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  released_ = true;
  close(socket_);
  socket_ = -1;
  return absl::OkStatus();
}

std::optional<ExitInfo> TryWait(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return FromWaitStatus(status);
  if (r < 0 && errno == ECHILD) return ExitInfo{.exit_code = -1};
  return std::nullopt;
}

ExitInfo Wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ExitInfo{.exit_code = -1};
  }
  return FromWaitStatus(status);
}

ExitInfo Terminate(pid_t pid, std::chrono::milliseconds grace) {
  kill(pid, SIGTERM);
  std::optional<ExitInfo> info;
  if (WaitFor([&] { return (info = TryWait(pid)).has_value(); }, grace)) return *info;
  kill(pid, SIGKILL);
  return Wait(pid);
}

}  // namespace kiln
