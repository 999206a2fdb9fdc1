#include "common/mutexes.h"

#include "absl/synchronization/mutex.h"

namespace kiln {

void ConfigureMutexes() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace kiln
