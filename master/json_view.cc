#include "master/json_view.h"

#include "common/strings.h"

namespace kiln::master {
namespace {

// Appends "key": with a separating comma when needed.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  ~ObjectWriter() { out_->push_back('}'); }

  void String(std::string_view key, std::string_view value) {
    Key(key);
    StrAppend(out_, "\"", JsonEscape(value), "\"");
  }
  void Int(std::string_view key, int64_t value) {
    Key(key);
    StrAppend(out_, value);
  }
  // Starts a value the caller writes itself (an array).
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    StrAppend(out_, "\"", JsonEscape(key), "\":");
  }

 private:
  std::string* out_;
  bool first_ = true;
};

template <class T, class Fn>
void Array(std::string* out, const std::vector<T>& items, Fn write_item) {
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    write_item(items[i]);
  }
  out->push_back(']');
}

void WriteWorker(std::string* out, const WorkerView& w) {
  ObjectWriter o(out);
  o.String("id", w.id);
  o.String("host", w.host);
  o.Int("port", w.port);
  o.String("webuiaddress", StrCat("http://", w.host, ":", w.ui_port));
  o.String("state", w.state);
  o.Int("cores", w.cores);
  o.Int("coresused", w.cores_used);
  o.Int("coresfree", w.cores - w.cores_used);
  o.Int("memory", w.memory_mb);
  o.Int("memoryused", w.memory_used_mb);
  o.Int("memoryfree", w.memory_mb - w.memory_used_mb);
  o.Int("lastheartbeat", w.last_heartbeat_ms);
}

void WriteExecutor(std::string* out, const ExecutorView& e) {
  ObjectWriter o(out);
  o.Int("id", e.id);
  o.String("worker", e.worker_id);
  o.Int("cores", e.cores);
  o.Int("memory", e.memory_mb);
}

// `active`: with why it waits ("" when it holds executors).
void WriteApp(std::string* out, const AppView& a, bool active) {
  ObjectWriter o(out);
  o.String("id", a.id);
  o.String("name", a.name);
  o.Int("cores", a.cores);
  o.Int("memoryperslave", a.memory_per_executor_mb);
  o.Int("maxcores", a.max_cores);
  o.Int("executorlimit", a.executor_limit);
  o.String("state", a.state);
  if (active) o.String("waitingreason", a.waiting_reason);
  o.Key("executors");
  Array(out, a.executors, [&](const ExecutorView& e) { WriteExecutor(out, e); });
  o.Int("starttime", a.start_ms);
  o.Int("duration", a.duration_ms);
  o.String("appuiurl", a.ui_url);
}

// Spark's master JSON names where it has the field.
void WriteDriver(std::string* out, const DriverView& d) {
  ObjectWriter o(out);
  o.String("id", d.id);
  o.String("name", d.name);
  o.Int("starttime", d.submit_ms);
  o.String("state", d.state);
  o.Int("cores", d.cores);
  o.Int("memory", d.memory_mb);
  o.String("worker", d.worker_id);
  o.String("appid", d.app_id);
  o.Int("supervise", d.supervise ? 1 : 0);
  o.Int("relaunches", d.relaunches);
  if (d.exited) o.Int("exitcode", d.exit_code);
  o.String("message", d.message);
  o.Int("duration", d.duration_ms);
}

}  // namespace

std::string RenderJson(const ClusterView& view) {
  std::string out;
  {
    ObjectWriter o(&out);
    o.String("url", view.url);
    o.Key("workers");
    Array(&out, view.workers, [&](const WorkerView& w) { WriteWorker(&out, w); });
    o.Int("cores", view.cores);
    o.Int("coresused", view.cores_used);
    o.Int("memory", view.memory_mb);
    o.Int("memoryused", view.memory_used_mb);
    o.Key("activeapps");
    Array(&out, view.active_apps, [&](const AppView& a) { WriteApp(&out, a, true); });
    o.Key("completedapps");
    Array(&out, view.completed_apps, [&](const AppView& a) { WriteApp(&out, a, false); });
    o.Key("activedrivers");
    Array(&out, view.active_drivers, [&](const DriverView& d) { WriteDriver(&out, d); });
    o.Key("completeddrivers");
    Array(&out, view.completed_drivers, [&](const DriverView& d) { WriteDriver(&out, d); });
    o.String("status", view.status);
  }
  out.push_back('\n');
  return out;
}

}  // namespace kiln::master
