#pragma once
// The master's /json document (the shape of Spark standalone's master JSON):
//
// {"url": "kiln://host:port",
//  "workers": [{"id", "host", "port", "webuiaddress", "state": "ALIVE"|"DEAD", "cores",
//               "coresused", "coresfree", "memory", "memoryused", "memoryfree",
//               "lastheartbeat"}],
//  "cores", "coresused", "memory", "memoryused",        (totals over ALIVE workers)
//  "activeapps": [{"id", "name", "cores", "memoryperslave", "state",
//                  "executors": [{"id", "worker", "cores", "memory"}],
//                  "starttime", "duration"}],
//  "completedapps": [... as activeapps ...],
//  "status": "ALIVE"}
//
// Memory in MiB; times in milliseconds (lastheartbeat and starttime since the Unix
// epoch). A pure function: thread-safe.

#include <string>

#include "master/cluster_view.h"

namespace kiln::master {

std::string RenderJson(const ClusterView& view);

}  // namespace kiln::master
