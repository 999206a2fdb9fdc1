#pragma once
// GET /metrics of the master: the cluster (workers by state, cores and memory, what is
// used), applications and drivers by state, executors, counts since the master started,
// and its gRPC calls, in Prometheus's text format. A pure function of its inputs.

#include <string>

#include "common/rpc_metrics.h"
#include "master/cluster_view.h"

namespace kiln::master {

std::string RenderMetrics(const ClusterView& view, const RpcMetrics& rpc);

}  // namespace kiln::master
