#include "worker/standby_executors.h"

#include <algorithm>
#include <utility>

#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace kiln::worker {

StandbyExecutors::StandbyExecutors(StandbyExecutorsOptions options)
    : options_(std::move(options)), refills_({.threads = 1}, [this](std::vector<int>& batch) {
        for (size_t i = 0; i < batch.size(); ++i) Refill();
      }) {}

StandbyExecutors::~StandbyExecutors() { Stop(); }

void StandbyExecutors::Start() {
  if (options_.count <= 0 || options_.cgroups == nullptr) return;
  refills_.Start();
  refills_.PushAll(std::vector<int>(static_cast<size_t>(options_.count), 0));
}

void StandbyExecutors::Stop() {
  stopping_.Raise();
  refills_.Close();
  refills_.Stop();
  std::vector<Taken> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(ready_);
  }
  for (Taken& taken : left) Discard(std::move(taken));
}

std::optional<StandbyExecutors::Taken> StandbyExecutors::Take() {
  std::optional<Taken> taken;
  {
    absl::MutexLock lock(&mu_);
    if (ready_.empty()) return std::nullopt;
    taken = std::move(ready_.back());
    ready_.pop_back();
  }
  refills_.Push(0);
  return taken;
}

void StandbyExecutors::Discard(Taken taken) {
  taken.child.reset();  // killed and reaped: its cgroup is empty
  if (absl::Status s = options_.cgroups->Remove(taken.cgroup); !s.ok()) {
    spdlog::warn("{}", View(s.message()));
  }
}

int StandbyExecutors::ready() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(ready_.size());
}

int StandbyExecutors::failed_attempts() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

void StandbyExecutors::Refill() {
  std::string name;
  int failures = 0;
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(ready_.size()) >= options_.count) return;
    name = StrCat("standby-", next_id_++);
    failures = failures_;
  }
  // After failures, wait 1, 2, 4 ... 64 s before the next attempt.
  if (failures > 0 && stopping_.WaitFor(std::chrono::seconds(1 << std::min(failures - 1, 6)))) {
    return;
  }
  if (stopping_.raised()) return;
  std::optional<Taken> made = Make(name);
  {
    absl::MutexLock lock(&mu_);
    if (made) {
      failures_ = 0;
      ready_.push_back(*std::move(made));
      return;
    }
    ++failures_;
  }
  refills_.Push(0);  // try again, after the backoff
}

std::optional<StandbyExecutors::Taken> StandbyExecutors::Make(const std::string& name) {
  absl::StatusOr<std::string> procs = options_.cgroups->Create(name, 0);
  if (!procs.ok()) {
    spdlog::warn("cannot prepare a standby executor process: {}", View(procs.status().message()));
    return std::nullopt;
  }
  SpawnOptions process;
  process.cgroup_procs = *procs;
  process.die_with_parent = true;
  process.new_process_group = true;
  absl::StatusOr<std::unique_ptr<StandbyChild>> child =
      StandbyChild::Fork({options_.helper}, process);
  if (!child.ok()) {
    (void)options_.cgroups->Remove(name);
    spdlog::warn("cannot prepare a standby executor process: {}", View(child.status().message()));
    return std::nullopt;
  }
  Taken made{*std::move(child), name};
  if (absl::Status ready = made.child->WaitReady(options_.ready_timeout); !ready.ok()) {
    Discard(std::move(made));
    spdlog::warn("cannot prepare a standby executor process: {}", View(ready.message()));
    return std::nullopt;
  }
  spdlog::debug("standby executor process pid={} ready in cgroup {}/{}", made.child->pid(),
                options_.cgroups->parent(), name);
  return made;
}

}  // namespace kiln::worker
