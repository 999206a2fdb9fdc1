#include "driver/interrupt_handler.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/check.h"

namespace kiln::internal {
namespace {

std::atomic<int> g_write_fd{-1};  // the live handler's pipe; -1 when none

void OnSignal(int sig) {
  const int saved = errno;
  // A second signal while the first is handled: the default action, now.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  const int fd = g_write_fd.load();
  const char byte = static_cast<char>(sig);
  if (fd < 0 || write(fd, &byte, 1) != 1) raise(sig);
  errno = saved;
}

}  // namespace

InterruptHandler::InterruptHandler(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  KILN_CHECK(pipe2(pipe_, O_CLOEXEC) == 0);
  int expected = -1;
  KILN_CHECK(g_write_fd.compare_exchange_strong(expected, pipe_[1]),
             "one InterruptHandler at a time");
  thread_ = std::thread([this] {
    char byte = 0;
    ssize_t n;
    do {
      n = read(pipe_[0], &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && byte != 0) on_signal_(byte);  // 0: the destructor's wake-up
  });
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

InterruptHandler::~InterruptHandler() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  g_write_fd.store(-1);
  const char wake = 0;
  if (write(pipe_[1], &wake, 1) != 1) {
    // The reader is gone already (it ran on_signal and returned): nothing to wake.
  }
  thread_.join();
  close(pipe_[0]);
  close(pipe_[1]);
}

}  // namespace kiln::internal
