#include "driver/broadcast.h"

#include <stdexcept>
#include <string>

#include "common/strings.h"
#include "driver/broadcast_registry.h"
#include "runtime/broadcasts.h"

namespace kiln::internal {

const void* BroadcastValue(BroadcastRegistry* registry, int64_t id, BroadcastDecoder decode) {
  if (runtime::TaskBroadcasts* task = runtime::CurrentTaskBroadcasts()) {
    return task->Value(id, decode);
  }
  if (registry == nullptr) {
    throw std::runtime_error(StrCat("broadcast ", id, " has no driver here"));
  }
  absl::StatusOr<std::shared_ptr<const void>> value = registry->Value(id);
  if (!value.ok()) throw std::runtime_error(std::string(View(value.status().message())));
  // The registry keeps the value until destroy(), which a program calls once done with it.
  return value->get();
}

void RemoveBroadcast(BroadcastRegistry* registry, int64_t id, bool destroy) {
  if (runtime::CurrentTaskBroadcasts() != nullptr || registry == nullptr) {
    throw std::logic_error(StrCat("broadcast ", id, ": ", destroy ? "destroy()" : "unpersist()",
                                  " is called on the driver only, not in a task"));
  }
  if (destroy) {
    registry->Destroy(id);
  } else {
    registry->Unpersist(id);
  }
}

void BroadcastDecodeFailed(std::string_view type) {
  throw std::runtime_error(StrCat("a broadcast value of type ", DemangledType(std::string(type)),
                                  " does not decode: the executor runs another build than the "
                                  "driver, or its kiln::Codec is wrong"));
}

}  // namespace kiln::internal
