#include "common/mutexes.h"

#include <mutex>
#include <thread>

#include "absl/base/internal/sysinfo.h"
#include "absl/synchronization/mutex.h"

namespace kiln {

void ConfigureMutexes() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  static std::once_flag measured;
  std::call_once(measured,
                 [] { std::thread([] { absl::base_internal::NominalCPUFrequency(); }).detach(); });
}

}  // namespace kiln
