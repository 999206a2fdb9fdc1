#pragma once
// How a Kiln process runs its absl::Mutex locks.
//
// Debian builds Abseil without NDEBUG, so its Mutex checks for deadlocks on every lock
// and unlock: it keeps a global graph of lock orders under a global lock. That debugging
// aid cost several percent of a driver's time at 10k tasks a second, and more in the
// executor and the daemons. Release builds of Kiln (NDEBUG) turn it off at the start of
// every process; debug builds keep it on, to report lock-order cycles in tests.

namespace kiln {

// Idempotent; call before the process starts its threads.
void ConfigureMutexes();

}  // namespace kiln
