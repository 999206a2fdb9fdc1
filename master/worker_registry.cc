#include "master/worker_registry.h"

#include <algorithm>

#include "common/check.h"
#include "common/strings.h"

namespace kiln::master {

const char* WorkerStateName(WorkerState state) {
  switch (state) {
    case WorkerState::kAlive:
      return "ALIVE";
    case WorkerState::kDead:
      return "DEAD";
    case WorkerState::kUnknown:
      return "UNKNOWN";
  }
  return "DEAD";
}

std::string WorkerInfo::address() const { return StrCat(host, ":", port); }

void WorkerRegistry::Register(WorkerInfo worker) {
  worker.state = WorkerState::kAlive;
  worker.cores_used = 0;
  worker.memory_used_mb = 0;
  dead_since_seq_.erase(worker.id);
  std::string id = worker.id;
  workers_.insert_or_assign(std::move(id), std::move(worker));
}

WorkerInfo* WorkerRegistry::Find(const std::string& id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

const WorkerInfo* WorkerRegistry::Find(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

WorkerInfo* WorkerRegistry::FindAliveAt(const std::string& host, int port,
                                        const std::string& except_id) {
  for (auto& [id, w] : workers_) {
    if (id != except_id && w.state == WorkerState::kAlive && w.host == host && w.port == port) {
      return &w;
    }
  }
  return nullptr;
}

void WorkerRegistry::MarkDead(const std::string& id) {
  WorkerInfo* w = Find(id);
  KILN_CHECK(w != nullptr, "MarkDead of an unknown worker");
  w->state = WorkerState::kDead;
  w->cores_used = 0;
  w->memory_used_mb = 0;
  dead_since_seq_[id] = next_seq_++;
  ForgetOldDead();
}

void WorkerRegistry::Allocate(const std::string& id, int cores, int64_t memory_mb) {
  WorkerInfo* w = Find(id);
  KILN_CHECK(w != nullptr && w->state == WorkerState::kAlive, "allocation on a lost worker");
  KILN_CHECK(cores >= 0 && memory_mb >= 0);
  KILN_CHECK(cores <= w->cores_free() && memory_mb <= w->memory_free_mb(),
             "allocation beyond a worker's free resources");
  w->cores_used += cores;
  w->memory_used_mb += memory_mb;
}

void WorkerRegistry::Release(const std::string& id, int cores, int64_t memory_mb) {
  WorkerInfo* w = Find(id);
  // A DEAD or replaced worker already gave everything back.
  if (w == nullptr || w->state != WorkerState::kAlive) return;
  KILN_CHECK(cores <= w->cores_used && memory_mb <= w->memory_used_mb,
             "release of more than a worker uses");
  w->cores_used -= cores;
  w->memory_used_mb -= memory_mb;
}

std::vector<WorkerInfo*> WorkerRegistry::Alive() {
  std::vector<WorkerInfo*> out;
  for (auto& [id, w] : workers_) {
    if (w.state == WorkerState::kAlive) out.push_back(&w);
  }
  return out;
}

std::vector<const WorkerInfo*> WorkerRegistry::Alive() const {
  std::vector<const WorkerInfo*> out;
  for (const auto& [id, w] : workers_) {
    if (w.state == WorkerState::kAlive) out.push_back(&w);
  }
  return out;
}

std::vector<const WorkerInfo*> WorkerRegistry::All() const {
  std::vector<const WorkerInfo*> out;
  for (const auto& [id, w] : workers_) out.push_back(&w);
  return out;
}

void WorkerRegistry::ForgetOldDead() {
  while (dead_since_seq_.size() > kMaxDeadWorkers) {
    auto oldest =
        std::min_element(dead_since_seq_.begin(), dead_since_seq_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    workers_.erase(oldest->first);
    dead_since_seq_.erase(oldest);
  }
}

std::optional<WorkerRegistry::Largest> WorkerRegistry::LargestAlive() const {
  std::optional<Largest> out;
  for (const WorkerInfo* w : Alive()) {
    if (!out) out.emplace();
    out->cores = std::max(out->cores, w->cores);
    out->memory_mb = std::max(out->memory_mb, w->memory_mb);
  }
  return out;
}

}  // namespace kiln::master
