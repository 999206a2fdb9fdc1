#include "master/json_view.h"

#include "master/html_view.h"
#include "master/metrics_view.h"
#include "tests/kiln_catch.h"
#include "tests/support/prometheus_text.h"

namespace kiln::master {
namespace {

// Loose structural check: brackets balance outside strings, strings are closed.
bool Balanced(const std::string& json) {
  std::string stack;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      stack.push_back(c);
    else if (c == '}' || c == ']') {
      if (stack.empty() || stack.back() != (c == '}' ? '{' : '[')) return false;
      stack.pop_back();
    }
  }
  return stack.empty() && !in_string;
}

ClusterView SampleView() {
  ClusterView v;
  v.url = "kiln://master-host:7077";
  v.workers.push_back({"worker-1", "10.0.0.1", 7078, 8081, "ALIVE", 8, 3, 16384, 4096, 1234});
  v.workers.push_back({"worker-2", "10.0.0.2", 7078, 8081, "DEAD", 4, 0, 2048, 0, 99});
  v.cores = 8;
  v.cores_used = 3;
  v.memory_mb = 16384;
  v.memory_used_mb = 4096;
  AppView a;
  a.id = "app-20240101120000-0000";
  a.name = "word \"count\"";
  a.cores = 3;
  a.memory_per_executor_mb = 1024;
  a.state = "RUNNING";
  a.executors.push_back({0, "worker-1", 2, 1024});
  a.executors.push_back({1, "worker-1", 1, 1024});
  a.start_ms = 1700000000000;
  a.duration_ms = 5000;
  v.active_apps.push_back(a);
  AppView waiting;
  waiting.id = "app-20240101120500-0001";
  waiting.name = "report";
  waiting.max_cores = 4;
  waiting.memory_per_executor_mb = 4096;
  waiting.state = "WAITING";
  waiting.waiting_reason = "needs 4.0 GiB per executor <memory>";
  v.active_apps.push_back(waiting);
  a.id = "app-20240101110000-0007";
  a.state = "FINISHED";
  v.completed_apps.push_back(a);
  return v;
}

TEST_CASE("json: the document has the documented shape") {
  std::string json = RenderJson(SampleView());
  CHECK(Balanced(json));
  CHECK(json.front() == '{');
  for (const char* part : {
           R"("url":"kiln://master-host:7077")",
           R"("workers":[{"id":"worker-1","host":"10.0.0.1","port":7078,)",
           R"("webuiaddress":"http://10.0.0.1:8081","state":"ALIVE","cores":8,)",
           R"("coresused":3,"coresfree":5,"memory":16384,"memoryused":4096,)",
           R"("memoryfree":12288,"lastheartbeat":1234})",
           R"("id":"worker-2")",
           R"("state":"DEAD")",
           R"(],"cores":8,"coresused":3,"memory":16384,"memoryused":4096,"activeapps":[)",
           R"({"id":"app-20240101120000-0000","name":"word \"count\"","cores":3,)",
           R"("memoryperslave":1024,"maxcores":0,"executorlimit":-1,"state":"RUNNING",)",
           R"("waitingreason":"",)",
           R"("executors":[{"id":0,"worker":"worker-1","cores":2,"memory":1024},)",
           R"({"id":1,"worker":"worker-1","cores":1,"memory":1024}],)",
           R"("starttime":1700000000000,"duration":5000,"appuiurl":""})",
           R"({"id":"app-20240101120500-0001","name":"report","cores":0,"memoryperslave":4096,)",
           R"("maxcores":4,"executorlimit":-1,"state":"WAITING",)",
           R"("waitingreason":"needs 4.0 GiB per executor <memory>")",
           R"("completedapps":[{"id":"app-20240101110000-0007")",
           R"("state":"FINISHED")",
           R"("status":"ALIVE"})",
       }) {
    INFO(part);
    CHECK(json.find(part) != std::string::npos);
  }
  // Only active applications say why they wait.
  CHECK(json.substr(json.find("completedapps")).find("waitingreason") == std::string::npos);
}

TEST_CASE("json: an empty cluster") {
  ClusterView v;
  v.url = "kiln://h:1";
  std::string json = RenderJson(v);
  CHECK(Balanced(json));
  CHECK(json == R"({"url":"kiln://h:1","workers":[],"cores":0,"coresused":0,"memory":0,)"
                R"("memoryused":0,"activeapps":[],"completedapps":[],"activedrivers":[],)"
                R"("completeddrivers":[],"status":"ALIVE"})"
                "\n");
}

TEST_CASE("json: drivers, in Spark's field names") {
  ClusterView v;
  v.active_drivers.push_back({.id = "driver-20260101000000-0000",
                              .name = "wc",
                              .state = "RUNNING",
                              .worker_id = "worker-1",
                              .app_id = "app-1",
                              .relaunches = 1,
                              .supervise = true,
                              .cores = 1,
                              .memory_mb = 1024,
                              .submit_ms = 5});
  v.completed_drivers.push_back({.id = "driver-2",
                                 .state = "FAILED",
                                 .message = "exited with code 3",
                                 .exit_code = 3,
                                 .exited = true});
  std::string json = RenderJson(v);
  CHECK(Balanced(json));
  for (const char* part :
       {R"("activedrivers":[{"id":"driver-20260101000000-0000","name":"wc","starttime":5,)",
        R"("state":"RUNNING","cores":1,"memory":1024,"worker":"worker-1","appid":"app-1",)",
        R"("supervise":1,"relaunches":1,"message":"")", R"("completeddrivers":[{"id":"driver-2")",
        R"("exitcode":3,"message":"exited with code 3")"}) {
    CHECK(json.find(part) != std::string::npos);
  }
}

TEST_CASE("html: the status page lists workers and applications, escaped") {
  std::string html = RenderHtml(SampleView());
  CHECK(html.find("kiln://master-host:7077") != std::string::npos);
  CHECK(html.find("worker-2") != std::string::npos);
  CHECK(html.find("app-20240101110000-0007") != std::string::npos);
  CHECK(html.find("word &quot;count&quot;") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<li>Applications: 1 running, 1 waiting, 1 completed</li>") != std::string::npos);
  CHECK(html.find("<h2>Running Applications (1)</h2>") != std::string::npos);
  CHECK(html.find("<h2>Waiting Applications (1)</h2>") != std::string::npos);
  CHECK(html.find("<td>needs 4.0 GiB per executor &lt;memory&gt;</td>") != std::string::npos);
  // Each worker's page is linked, and a driver's logs on the worker that runs it.
  CHECK(html.find("<a href=\"http://10.0.0.1:8081/\">http://10.0.0.1:8081</a>") !=
        std::string::npos);
  ClusterView with_driver = SampleView();
  with_driver.active_drivers.push_back(
      {.id = "driver-1", .state = "RUNNING", .worker_id = "worker-1"});
  CHECK(RenderHtml(with_driver).find("<a href=\"http://10.0.0.1:8081/logs/driver-1/stderr\">") !=
        std::string::npos);
}

TEST_CASE("html: a running application links its driver's UI, a completed one kiln-history") {
  ClusterView view = SampleView();
  view.active_apps[0].ui_url = "http://10.0.0.9:4040";
  view.completed_apps[0].ui_url = "http://history:18080/history/app-20240101110000-0007/jobs";
  const std::string html = RenderHtml(view);
  CHECK(html.find("<a href=\"http://10.0.0.9:4040/\">http://10.0.0.9:4040</a>") !=
        std::string::npos);
  CHECK(html.find("<a href=\"http://history:18080/history/app-20240101110000-0007/jobs\">") !=
        std::string::npos);
  CHECK(RenderJson(view).find(R"("appuiurl":"http://10.0.0.9:4040")") != std::string::npos);
}

}  // namespace
TEST_CASE("metrics: the master's figures, every state listed", "[metrics]") {
  ClusterView v;
  v.status = "RECOVERING";
  v.workers.push_back({.id = "w1", .state = "ALIVE", .cores = 4, .cores_used = 3});
  v.workers.push_back({.id = "w2", .state = "UNKNOWN"});
  v.cores = 4;
  v.cores_used = 3;
  v.memory_mb = 1024;
  v.active_apps.push_back({.id = "a1", .executors = {{.id = 0}, {.id = 1}}});
  v.active_apps.push_back({.id = "a2", .waiting_reason = "no worker is ALIVE"});
  v.active_drivers.push_back({.id = "d1", .state = "RELAUNCHING"});
  v.counters.apps_ended["KILLED"] = 2;
  v.counters.executors_launched = 7;
  RpcMetrics rpc;
  rpc.Record("/kiln.proto.Master/SubmitDriver", "OK", 0.01);
  absl::StatusOr<test::MetricSamples> m = test::ParseMetrics(RenderMetrics(v, rpc));
  REQUIRE(m.ok());
  CHECK(m->at("kiln_master_recovering") == 1);
  CHECK(m->at("kiln_master_workers{state=\"ALIVE\"}") == 1);
  CHECK(m->at("kiln_master_workers{state=\"UNKNOWN\"}") == 1);
  CHECK(m->at("kiln_master_workers{state=\"DEAD\"}") == 0);
  CHECK(m->at("kiln_master_memory_bytes") == 1024.0 * 1024 * 1024);
  CHECK(m->at("kiln_master_applications{state=\"RUNNING\"}") == 1);
  CHECK(m->at("kiln_master_applications{state=\"WAITING\"}") == 1);
  CHECK(m->at("kiln_master_executors") == 2);
  CHECK(m->at("kiln_master_drivers{state=\"RELAUNCHING\"}") == 1);
  CHECK(m->at("kiln_master_applications_ended_total{state=\"KILLED\"}") == 2);
  CHECK(m->at("kiln_master_applications_ended_total{state=\"FINISHED\"}") == 0);
  CHECK(m->at("kiln_master_executors_launched_total") == 7);
  CHECK(m->at("kiln_rpc_server_calls_total{method=\"/kiln.proto.Master/SubmitDriver\","
              "code=\"OK\"}") == 1);
}

}  // namespace kiln::master
