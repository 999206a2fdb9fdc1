#pragma once
// ClientCache<Client>: one client per peer address, made on first use and shared by
// every caller after that (a gRPC channel multiplexes concurrent calls). The master's
// worker commands and an executor's shuffle reads each keep one. Making a client does no
// I/O (channels connect lazily), so the cache lock is never held across a network call.
// Thread-safe.

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace kiln {

template <class Client>
class ClientCache {
 public:
  using Factory = std::function<std::shared_ptr<Client>(const std::string& address)>;

  explicit ClientCache(Factory make) : make_(std::move(make)) {}

  std::shared_ptr<Client> Get(const std::string& address) {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Client>& client = clients_[address];
    if (client == nullptr) client = make_(address);
    return client;
  }

 private:
  const Factory make_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln
