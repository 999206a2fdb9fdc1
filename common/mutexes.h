#pragma once
// How a Kiln process runs its absl::Mutex locks.
//
// Debian builds Abseil without NDEBUG, so its Mutex checks for deadlocks on every lock
// and unlock: it keeps a global graph of lock orders under a global lock. That debugging
// aid cost several percent of a driver's time at 10k tasks a second, and more in the
// executor and the daemons. Release builds of Kiln (NDEBUG) turn it off at the start of
// every process; debug builds keep it on, to report lock-order cycles in tests.
//
// The first time a thread waits on a Mutex, Abseil reads the CPU's cycle-counter
// frequency; where the kernel does not export it (/sys/devices/system/cpu/cpu0/
// tsc_freq_khz, missing in most VMs), it measures it by sleeping 1 ms, then 2 ms and
// more until two measurements agree: 3 ms or more, once per process, in whichever
// thread waits first (a driver's exit, an executor's start). A thread started here
// measures it while the process starts.

namespace kiln {

// Idempotent; call before the process starts its threads.
void ConfigureMutexes();

}  // namespace kiln
