// MetricsText (Prometheus's text format) and RpcMetrics, read back with the checking
// reader of tests/support/prometheus_text.h.

#include "common/metrics_text.h"

#include "common/rpc_metrics.h"
#include "tests/kiln_catch.h"
#include "tests/support/prometheus_text.h"

namespace kiln {
namespace {

TEST_CASE("metrics text: families, labels escaped, values as Prometheus reads them", "[metrics]") {
  MetricsText out;
  out.Gauge("kiln_up", "1 when up.\nSecond line \\ here.", 1);
  out.Family("kiln_things", "gauge", "Things by kind.");
  out.Sample("kiln_things", {{"kind", "a \"quoted\"\nname\\"}}, 2.5);
  out.Sample("kiln_things", {{"kind", "b"}, {"where", "x"}}, 1e20);
  out.Counter("kiln_calls_total", "Calls.", 12345678901.0);
  CHECK(out.text() ==
        "# HELP kiln_up 1 when up.\\nSecond line \\\\ here.\n"
        "# TYPE kiln_up gauge\n"
        "kiln_up 1\n"
        "# HELP kiln_things Things by kind.\n"
        "# TYPE kiln_things gauge\n"
        "kiln_things{kind=\"a \\\"quoted\\\"\\nname\\\\\"} 2.5\n"
        "kiln_things{kind=\"b\",where=\"x\"} 1e+20\n"
        "# HELP kiln_calls_total Calls.\n"
        "# TYPE kiln_calls_total counter\n"
        "kiln_calls_total 12345678901\n");
  absl::StatusOr<test::MetricSamples> samples = test::ParseMetrics(out.text());
  REQUIRE_OK(samples.status());
  CHECK(samples->at("kiln_up") == 1);
  CHECK(samples->at("kiln_things{kind=\"b\",where=\"x\"}") == 1e20);
}

TEST_CASE("metrics text: a histogram's buckets are cumulative and end at +Inf = count",
          "[metrics]") {
  HistogramData h({0.001, 0.01, 0.1});
  for (double v : {0.0005, 0.001, 0.005, 0.05, 0.05, 3.0}) h.Observe(v);
  MetricsText out;
  out.Family("kiln_took_seconds", "histogram", "How long.");
  h.Write(&out, "kiln_took_seconds", {{"method", "/m"}});
  absl::StatusOr<test::MetricSamples> samples = test::ParseMetrics(out.text());
  REQUIRE_OK(samples.status());
  CHECK(samples->at("kiln_took_seconds_bucket{method=\"/m\",le=\"0.001\"}") == 2);
  CHECK(samples->at("kiln_took_seconds_bucket{method=\"/m\",le=\"0.01\"}") == 3);
  CHECK(samples->at("kiln_took_seconds_bucket{method=\"/m\",le=\"0.1\"}") == 5);
  CHECK(samples->at("kiln_took_seconds_bucket{method=\"/m\",le=\"+Inf\"}") == 6);
  CHECK(samples->at("kiln_took_seconds_count{method=\"/m\"}") == 6);
  CHECK(samples->at("kiln_took_seconds_sum{method=\"/m\"}") == Approx(3.1065));
}

TEST_CASE("metrics text: the checking reader refuses what Prometheus would", "[metrics]") {
  CHECK_FALSE(test::ParseMetrics("kiln_x 1\n").ok());  // no family
  CHECK_FALSE(test::ParseMetrics("# HELP a A.\n# TYPE a gauge\na one\n").ok());
  CHECK_FALSE(test::ParseMetrics("# HELP a A.\n# TYPE a gauge\na 1\n# HELP a A.\n").ok());
  CHECK_FALSE(test::ParseMetrics("# HELP h H.\n# TYPE h histogram\n"
                                 "h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n"
                                 "h_sum 1\nh_count 2\n")
                  .ok());
  CHECK_FALSE(test::ParseMetrics("# HELP h H.\n# TYPE h histogram\n"
                                 "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n")
                  .ok());
}

TEST_CASE("rpc metrics: calls by method and code, with their durations", "[metrics]") {
  RpcMetrics rpc;
  rpc.Record("/kiln.proto.Master/RegisterWorker", "OK", 0.002);
  rpc.Record("/kiln.proto.Master/RegisterWorker", "OK", 0.2);
  rpc.Record("/kiln.proto.Master/RegisterWorker", "PERMISSION_DENIED", 0.0001);
  rpc.Record("/kiln.proto.Worker/Identify", "OK", 20);
  MetricsText out;
  rpc.Write(&out);
  absl::StatusOr<test::MetricSamples> samples = test::ParseMetrics(out.text());
  REQUIRE_OK(samples.status());
  const std::string reg = "method=\"/kiln.proto.Master/RegisterWorker\"";
  CHECK(samples->at("kiln_rpc_server_calls_total{" + reg + ",code=\"OK\"}") == 2);
  CHECK(samples->at("kiln_rpc_server_calls_total{" + reg + ",code=\"PERMISSION_DENIED\"}") == 1);
  CHECK(samples->at("kiln_rpc_server_duration_seconds_count{" + reg + "}") == 3);
  CHECK(samples->at("kiln_rpc_server_duration_seconds_bucket{" + reg + ",le=\"0.0025\"}") == 2);
  CHECK(
      samples->at("kiln_rpc_server_duration_seconds_bucket{method=\"/kiln.proto.Worker/Identify\","
                  "le=\"10\"}") == 0);
  CHECK(StatusCodeName(14) == "UNAVAILABLE");
  CHECK(StatusCodeName(99) == "UNKNOWN");
}

}  // namespace
}  // namespace kiln
