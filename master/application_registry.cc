#include "master/application_registry.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/check.h"

namespace kiln::master {

const char* AppStateName(AppState state) {
  switch (state) {
    case AppState::kWaiting:
      return "WAITING";
    case AppState::kRunning:
      return "RUNNING";
    case AppState::kFinished:
      return "FINISHED";
    case AppState::kFailed:
      return "FAILED";
    case AppState::kKilled:
      return "KILLED";
  }
  return "UNKNOWN";
}

int Application::cores_granted() const {
  int total = 0;
  for (const auto& [id, e] : executors) total += e.cores;
  return total;
}

bool Application::HasExecutorOn(const std::string& worker_id) const {
  for (const auto& [id, e] : executors) {
    if (e.worker_id == worker_id) return true;
  }
  return false;
}

bool Application::HasRunningExecutor() const {
  for (const auto& [id, e] : executors) {
    if (e.state == ExecutorState::kRunning) return true;
  }
  return false;
}

std::string StampedId(std::string_view prefix, std::chrono::system_clock::time_point wall,
                      int number) {
  std::time_t t = std::chrono::system_clock::to_time_t(wall);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "-%04d%02d%02d%02d%02d%02d-%04d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, number);
  return std::string(prefix) + stamp;
}

Application& ApplicationRegistry::Add(ApplicationRequest request,
                                      std::chrono::system_clock::time_point start_wall,
                                      std::chrono::steady_clock::time_point now) {
  std::string id;
  do {  // an id an application had before this master restarted is skipped
    id = StampedId("app", start_wall, next_app_number_++);
  } while (FindActive(id) != nullptr || IsCompleted(id));
  return Readd(id, std::move(request), start_wall, now);
}

Application& ApplicationRegistry::Readd(const std::string& id, ApplicationRequest request,
                                        std::chrono::system_clock::time_point start_wall,
                                        std::chrono::steady_clock::time_point now) {
  auto app = std::make_unique<Application>();
  app->id = id;
  app->request = std::move(request);
  app->start_wall = start_wall;
  app->last_heartbeat = now;
  active_.push_back(std::move(app));
  return *active_.back();
}

Application* ApplicationRegistry::FindActive(const std::string& id) {
  for (auto& app : active_) {
    if (app->id == id) return app.get();
  }
  return nullptr;
}

const Application* ApplicationRegistry::FindActive(const std::string& id) const {
  for (const auto& app : active_) {
    if (app->id == id) return app.get();
  }
  return nullptr;
}

bool ApplicationRegistry::IsCompleted(const std::string& id) const {
  return FindCompleted(id) != nullptr;
}

const Application* ApplicationRegistry::FindCompleted(const std::string& id) const {
  for (const Application& app : completed_) {
    if (app.id == id) return &app;
  }
  return nullptr;
}

std::vector<Application*> ApplicationRegistry::Active() {
  std::vector<Application*> out;
  for (auto& app : active_) out.push_back(app.get());
  return out;
}

std::vector<const Application*> ApplicationRegistry::ActiveView() const {
  std::vector<const Application*> out;
  for (const auto& app : active_) out.push_back(app.get());
  return out;
}

ExecutorInfo& ApplicationRegistry::AddExecutor(Application& app, const std::string& worker_id,
                                               int cores, int64_t memory_mb) {
  int id = app.next_executor_id++;
  ExecutorInfo& e = app.executors[id];
  e.id = id;
  e.worker_id = worker_id;
  e.cores = cores;
  e.memory_mb = memory_mb;
  app.workers_used.insert(worker_id);
  app.state = AppState::kRunning;
  return e;
}

ExecutorInfo& ApplicationRegistry::AdoptExecutor(Application& app, int id,
                                                 const std::string& worker_id, int cores,
                                                 int64_t memory_mb) {
  ExecutorInfo& e = app.executors[id];
  e.id = id;
  e.worker_id = worker_id;
  e.cores = cores;
  e.memory_mb = memory_mb;
  e.state = ExecutorState::kRunning;
  app.next_executor_id = std::max(app.next_executor_id, id + 1);
  app.workers_used.insert(worker_id);
  app.state = AppState::kRunning;
  return e;
}

void ApplicationRegistry::Complete(const std::string& id, AppState final_state,
                                   std::chrono::system_clock::time_point end_wall) {
  KILN_CHECK(final_state != AppState::kWaiting && final_state != AppState::kRunning);
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if ((*it)->id != id) continue;
    Application& app = **it;
    app.state = final_state;
    app.end_wall = end_wall;
    completed_.push_back(std::move(app));
    active_.erase(it);
    while (completed_.size() > kMaxCompleted) completed_.pop_front();
    return;
  }
  KILN_CHECK(false, "Complete of an application that is not active");
}

}  // namespace kiln::master
