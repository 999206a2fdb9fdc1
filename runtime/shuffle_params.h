#pragma once
// The parameters of shuffle operators, as the driver encodes them into an operator's
// params and the operator decodes them on an executor (Kiln's record codec, not
// protobuf: the operator templates a user's program instantiates stay free of it).

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/codec.h"

namespace kiln::runtime {

// Where one map output of a shuffle lives.
struct MapLocation {
  int map_id = 0;
  std::string worker_id;  // the worker holding it; "" in local mode
  std::string address;    // that worker's shuffle service host:port; "" in local mode
};

// What a shuffle-reading operator reads: every known map output of one shuffle.
struct ShuffleReadParams {
  int shuffle_id = 0;
  int num_maps = 0;  // a map id below it missing from `maps` is a fetch failure
  std::vector<MapLocation> maps;
};

// What a shuffle-writing operator writes.
struct ShuffleWriteParams {
  int shuffle_id = 0;
  int num_partitions = 1;
  std::string range_bounds;  // range partitioning: the encoded sorted upper bounds
  bool ascending = true;     // range partitioning: partition 0 holds the smallest keys
};

}  // namespace kiln::runtime

KILN_CODEC(kiln::runtime::MapLocation, map_id, worker_id, address);
KILN_CODEC(kiln::runtime::ShuffleReadParams, shuffle_id, num_maps, maps);
KILN_CODEC(kiln::runtime::ShuffleWriteParams, shuffle_id, num_partitions, range_bounds, ascending);

namespace kiln::runtime {

// The params of a shuffle-reading operator are its own prefix (what its type encodes,
// e.g. SortSource's order; often empty) followed by the read params of each shuffle it
// reads, which the driver appends when a stage attempt runs (map outputs move).
inline std::string AppendReadParams(std::string prefix,
                                    const std::vector<ShuffleReadParams>& reads) {
  Writer w(&prefix);
  Encode(w, reads);
  return prefix;
}

// The read params after an operator's prefix: exactly `expected` of them.
inline absl::StatusOr<std::vector<ShuffleReadParams>> ParseReadParams(std::string_view encoded,
                                                                      size_t expected) {
  std::vector<ShuffleReadParams> reads;
  if (!DecodeAll(encoded, &reads) || reads.size() != expected) {
    return absl::DataLossError("corrupt shuffle read parameters");
  }
  return reads;
}

}  // namespace kiln::runtime
