#include "master/metrics_view.h"

#include <map>

#include "common/metrics_text.h"

namespace kiln::master {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// One gauge family with a sample per state, every state listed (0 when none), so that a
// series does not vanish when its count drops to zero.
void ByState(MetricsText* out, const char* name, const char* help,
             std::initializer_list<const char*> states, const std::map<std::string, int>& counts) {
  out->Family(name, "gauge", help);
  for (const char* state : states) {
    auto it = counts.find(state);
    out->Sample(name, {{"state", state}}, it == counts.end() ? 0 : it->second);
  }
}

void EndedByState(MetricsText* out, const char* name, const char* help,
                  std::initializer_list<const char*> states,
                  const std::map<std::string, int64_t>& counts) {
  out->Family(name, "counter", help);
  for (const char* state : states) {
    auto it = counts.find(state);
    out->Sample(name, {{"state", state}}, it == counts.end() ? 0 : static_cast<double>(it->second));
  }
}

}  // namespace

std::string RenderMetrics(const ClusterView& view, const RpcMetrics& rpc) {
  MetricsText out;
  out.Gauge("kiln_master_recovering",
            "1 while workers restored from the recovery directory are UNKNOWN.",
            view.status == "RECOVERING" ? 1 : 0);
  std::map<std::string, int> workers;
  for (const WorkerView& w : view.workers) ++workers[w.state];
  ByState(&out, "kiln_master_workers", "Workers the master knows, by state.",
          {"ALIVE", "DEAD", "UNKNOWN"}, workers);
  out.Gauge("kiln_master_cores", "Cores of the ALIVE workers.", view.cores);
  out.Gauge("kiln_master_cores_used",
            "Cores of the ALIVE workers granted to executors and drivers.", view.cores_used);
  out.Gauge("kiln_master_memory_bytes", "Memory of the ALIVE workers.", view.memory_mb * kMiB);
  out.Gauge("kiln_master_memory_used_bytes",
            "Memory of the ALIVE workers granted to executors and drivers.",
            view.memory_used_mb * kMiB);
  std::map<std::string, int> apps;
  int executors = 0;
  for (const AppView& a : view.active_apps) {
    ++apps[a.waiting_reason.empty() ? "RUNNING" : "WAITING"];
    executors += static_cast<int>(a.executors.size());
  }
  ByState(&out, "kiln_master_applications",
          "Active applications: RUNNING (holding executors) or WAITING (holding none, with a "
          "reason).",
          {"RUNNING", "WAITING"}, apps);
  out.Gauge("kiln_master_executors", "Executors granted to active applications.", executors);
  std::map<std::string, int> drivers;
  for (const DriverView& d : view.active_drivers) ++drivers[d.state];
  ByState(&out, "kiln_master_drivers", "Drivers of cluster deploy mode that have not ended.",
          {"SUBMITTED", "RUNNING", "RELAUNCHING"}, drivers);
  EndedByState(&out, "kiln_master_applications_ended_total",
               "Applications that ended since the master started, by final state.",
               {"FINISHED", "FAILED", "KILLED"}, view.counters.apps_ended);
  EndedByState(&out, "kiln_master_drivers_ended_total",
               "Drivers that ended since the master started, by final state.",
               {"FINISHED", "FAILED", "KILLED", "ERROR"}, view.counters.drivers_ended);
  out.Counter("kiln_master_executors_launched_total",
              "Executors the master granted since it started.",
              static_cast<double>(view.counters.executors_launched));
  out.Counter(
      "kiln_master_executors_failed_total",
      "Executors that failed (non-zero exit, signal, launch error) since the master started.",
      static_cast<double>(view.counters.executors_failed));
  rpc.Write(&out);
  return out.text();
}

}  // namespace kiln::master
