#pragma once
// The master's read-only status page (GET /): plain HTML tables of workers, active and
// completed applications, no scripts. A pure function: thread-safe.

#include <string>

#include "master/cluster_view.h"

namespace kiln::master {

std::string RenderHtml(const ClusterView& view);

}  // namespace kiln::master
