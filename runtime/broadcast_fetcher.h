#pragma once
// The BroadcastFetcher of an executor process (runtime/broadcasts.h), Spark's torrent
// broadcast: it asks the driver where the chunks of a broadcast are, then takes them in
// random order, each from this worker's disk when another executor of the application
// here already fetched it, else from a random other worker that holds it, else (or when
// that fails) from the driver. Every chunk is checked against the driver's XXH64, stored
// under the application dir for this worker to serve to others, and reported to the
// driver every few chunks, so later fetchers spread over the holders.

#include <chrono>
#include <memory>
#include <string>

#include "common/rpc_security.h"
#include "runtime/broadcasts.h"

namespace kiln::runtime {

struct BroadcastFetcherOptions {
  std::string app_id;
  int executor_id = 0;
  std::string executor_token;  // shown to the driver
  std::string app_dir;         // this worker's dir of the application: where chunks go
  std::string driver_address;
  std::shared_ptr<const rpc::Security> security;  // of every call
  int64_t max_message_bytes = 256 << 20;          // kiln.rpc.message.maxSize
  std::chrono::milliseconds timeout{120'000};     // per call: kiln.network.timeout
};

std::unique_ptr<BroadcastFetcher> MakeBroadcastFetcher(BroadcastFetcherOptions options);

}  // namespace kiln::runtime
