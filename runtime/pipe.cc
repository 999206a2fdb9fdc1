#include "runtime/pipe.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace kiln::runtime {

PipedCommand::~PipedCommand() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (writer_.joinable()) writer_.join();
}

std::string PipedCommand::Name() const { return argv_.empty() ? "" : argv_[0]; }

absl::Status PipedCommand::Start(
    std::function<void(const std::function<bool(std::string_view)>&)> feed) {
  if (argv_.empty()) return absl::InvalidArgumentError("pipe: the command is empty");
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: pipe2: ", std::strerror(errno)));
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(in[0]);
    ::close(in[1]);
    return absl::InternalError(absl::StrCat("pipe: pipe2: ", std::strerror(e)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    pid_ = -1;
    ::close(in[1]);
    ::close(out[0]);
    return absl::InvalidArgumentError(
        absl::StrCat("pipe: cannot run \"", Name(), "\": ", std::strerror(rc)));
  }
  stdout_fd_ = out[0];
  const int stdin_fd = in[1];
  writer_ = std::thread([stdin_fd, feed = std::move(feed)] {
    // A command that stops reading (it may end early) makes write() raise SIGPIPE: blocked
    // in this thread, it stays pending here (and goes with the thread), and write fails
    // with EPIPE instead of killing the process.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    std::string buffer;
    bool open = true;  // false once the command stopped reading (it may end early)
    auto flush = [&] {
      size_t done = 0;
      while (open && done < buffer.size()) {
        const ssize_t n = ::write(stdin_fd, buffer.data() + done, buffer.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
          open = false;
        else
          done += static_cast<size_t>(n);
      }
      buffer.clear();
    };
    feed([&](std::string_view line) {
      buffer.append(line);
      buffer.push_back('\n');
      if (buffer.size() >= (64 << 10)) flush();
      return open;
    });
    flush();
    ::close(stdin_fd);
  });
  return absl::OkStatus();
}

absl::Status PipedCommand::ReadLines(const std::function<void(std::string_view)>& on_line) {
  std::string pending;
  char chunk[64 << 10];
  absl::Status read_error;
  for (;;) {
    const ssize_t n = ::read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_error = absl::InternalError(
          absl::StrCat("pipe: reading the output of \"", Name(), "\": ", std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    pending.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_line(std::string_view(pending).substr(start, nl - start));
    }
    pending.erase(0, start);
  }
  if (read_error.ok() && !pending.empty()) on_line(pending);  // a last line without '\n'
  ::close(stdout_fd_);
  stdout_fd_ = -1;
  if (!read_error.ok()) ::kill(pid_, SIGKILL);
  writer_.join();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (!read_error.ok()) return read_error;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::AbortedError(
      WIFEXITED(status)
          ? absl::StrCat("pipe: \"", Name(), "\" exited with code ", WEXITSTATUS(status))
          : absl::StrCat("pipe: \"", Name(), "\" was killed by signal ", WTERMSIG(status)));
}

}  // namespace kiln::runtime
