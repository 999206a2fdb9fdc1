#include "common/subprocess.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/files.h"
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
  // The child's stdout and stderr, opened here (close-on-exec: the child's dup2 copies
  // stay open across execve, these do not) and closed here after fork.
  ScopedFd out, err;
  if (!options.stdout_path.empty()) {
    ASSIGN_OR_RETURN(out,
                     OpenFile(options.stdout_path, O_WRONLY | O_CREAT | O_APPEND, "stdout file"));
  }
  if (!options.stderr_path.empty()) {
    ASSIGN_OR_RETURN(err,
                     OpenFile(options.stderr_path, O_WRONLY | O_CREAT | O_APPEND, "stderr file"));
  }
  ScopedFd cgroup;
  if (!options.cgroup_procs.empty()) {
    ASSIGN_OR_RETURN(cgroup, OpenFile(options.cgroup_procs, O_WRONLY, "cgroup file"));
  }
  // The child's stdin: a pipe holding all of stdin_data, its write end closed, so the
  // parent never blocks on a child that does not read.
  ScopedFd in;
  if (!options.stdin_data.empty()) {
    if (options.stdin_data.size() > kMaxStdinBytes) {
      return absl::InvalidArgumentError(StrCat("Spawn: stdin data of ", options.stdin_data.size(),
                                               " bytes exceeds ", kMaxStdinBytes));
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe failed");
    in = ScopedFd(fds[0]);
    ScopedFd write_end(fds[1]);
    RETURN_IF_ERROR(WriteAll(write_end.get(), options.stdin_data, "stdin pipe"));
  }
  const int out_fd = out.get(), err_fd = err.get(), cgroup_fd = cgroup.get(), in_fd = in.get();
  pid_t parent = getpid();
  // Block every signal across fork, so the child cannot run one of the parent's
  // handlers before execve; the child resets them all to the default first.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return ErrnoError("fork failed");
  if (pid == 0) {
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
    }
    if (options.new_process_group) setpgid(0, 0);
    // Default dispositions, then no mask: what a freshly started program expects.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    if (cgroup_fd >= 0 && write(cgroup_fd, "0", 1) != 1) {  // "0": the writing process
      static constexpr char kMessage[] =
          "kiln: cannot join the memory cgroup given to this process\n";
      (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
      _exit(125);
    }
    if (in_fd >= 0) {
      dup2(in_fd, STDIN_FILENO);
    } else {
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    }
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    execve(argv[0], argv.data(), child_env);
    _exit(127);
  }
  return pid;
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
