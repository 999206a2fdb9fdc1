#include "master/driver_registry.h"

#include "common/check.h"
#include "master/application_registry.h"

namespace kiln::master {

const char* DriverStateName(DriverState state) {
  switch (state) {
    case DriverState::kSubmitted:
      return "SUBMITTED";
    case DriverState::kRunning:
      return "RUNNING";
    case DriverState::kRelaunching:
      return "RELAUNCHING";
    case DriverState::kFinished:
      return "FINISHED";
    case DriverState::kFailed:
      return "FAILED";
    case DriverState::kKilled:
      return "KILLED";
    case DriverState::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

bool IsFinal(DriverState state) {
  return state == DriverState::kFinished || state == DriverState::kFailed ||
         state == DriverState::kKilled || state == DriverState::kError;
}

DriverInfo& DriverRegistry::Add(DriverRequest request,
                                std::chrono::system_clock::time_point submit_wall) {
  std::string id;
  do {  // an id a driver had before this master restarted is skipped
    id = StampedId("driver", submit_wall, next_number_++);
  } while (FindActive(id) != nullptr || FindCompleted(id) != nullptr);
  return Readd(id, std::move(request), submit_wall);
}

DriverInfo& DriverRegistry::Readd(const std::string& id, DriverRequest request,
                                  std::chrono::system_clock::time_point submit_wall) {
  auto driver = std::make_unique<DriverInfo>();
  driver->id = id;
  driver->request = std::move(request);
  driver->submit_wall = submit_wall;
  active_.push_back(std::move(driver));
  return *active_.back();
}

DriverInfo* DriverRegistry::FindActive(const std::string& id) {
  for (auto& d : active_) {
    if (d->id == id) return d.get();
  }
  return nullptr;
}

const DriverInfo* DriverRegistry::FindActive(const std::string& id) const {
  for (const auto& d : active_) {
    if (d->id == id) return d.get();
  }
  return nullptr;
}

const DriverInfo* DriverRegistry::FindCompleted(const std::string& id) const {
  for (const DriverInfo& d : completed_) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

std::vector<DriverInfo*> DriverRegistry::Active() {
  std::vector<DriverInfo*> out;
  for (auto& d : active_) out.push_back(d.get());
  return out;
}

std::vector<const DriverInfo*> DriverRegistry::ActiveView() const {
  std::vector<const DriverInfo*> out;
  for (const auto& d : active_) out.push_back(d.get());
  return out;
}

bool DriverRegistry::UsesBinary(const std::string& digest) const {
  for (const auto& d : active_) {
    if (d->request.binary_digest == digest) return true;
  }
  return false;
}

void DriverRegistry::Complete(const std::string& id, DriverState final_state,
                              std::chrono::system_clock::time_point end_wall) {
  KILN_CHECK(IsFinal(final_state));
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if ((*it)->id != id) continue;
    DriverInfo& driver = **it;
    driver.state = final_state;
    driver.end_wall = end_wall;
    completed_.push_back(std::move(driver));
    active_.erase(it);
    while (completed_.size() > kMaxCompleted) completed_.pop_front();
    return;
  }
  KILN_CHECK(false, "Complete of a driver that is not active");
}

}  // namespace kiln::master
