#pragma once
// Spark's broadcast variables: a read-only value the driver ships to each executor once,
// rather than inside every task that uses it.
//
//   std::unordered_map<int64_t, std::string> names = LoadNames();  // a small table
//   kiln::Broadcast<std::unordered_map<int64_t, std::string>> table =
//       ctx.broadcast(std::move(names));
//   auto named = orders.map([table](const Order& o) {
//     auto it = table.value().find(o.customer);
//     return std::make_pair(o.id, it == table.value().end() ? "?" : it->second);
//   });  // a map-side (broadcast hash) join: no shuffle
//
// The handle is captured by value in the functions a job ships. On the driver and in
// local mode, value() is the object given to ctx.broadcast (never copied). On a cluster,
// the first task on an executor that calls value() fetches the value's encoding
// (kiln::Codec<T>) in chunks of kiln.broadcast.blockSize, in random order, each from a
// worker whose executors already hold it or else from the driver (Spark's torrent
// broadcast); it is decoded once per executor and counted in its storage memory (at its
// encoded size), and every other task there shares it. value() is cheap after the
// first call in a task; the reference stays valid until the task ends.
//
// unpersist() drops the executors' copies: a later job fetches the value again.
// destroy() drops the driver's too: value() afterwards throws std::runtime_error naming
// the broadcast, on the driver and in tasks (which then fail with that message).
// Handles are trivially copyable and thread-safe; they stay valid while the Context
// that made them lives.

#include <cstdint>
#include <memory>
#include <string_view>
#include <typeinfo>

#include "common/codec.h"

namespace kiln {
namespace internal {
class BroadcastRegistry;
// Decodes an encoded value into a T (runtime::BroadcastDecoder).
using BroadcastDecoder = std::shared_ptr<const void> (*)(std::string_view encoded);
// The value of broadcast `id`: from the running task's executor, or on the driver
// from `registry`. Throws std::runtime_error with the reason when there is none.
const void* BroadcastValue(BroadcastRegistry* registry, int64_t id, BroadcastDecoder decode);
// unpersist() and destroy(), on the driver only (std::logic_error in a task).
void RemoveBroadcast(BroadcastRegistry* registry, int64_t id, bool destroy);
[[noreturn]] void BroadcastDecodeFailed(std::string_view type);

template <class T>
std::shared_ptr<const void> DecodeBroadcast(std::string_view encoded) {
  auto value = std::make_shared<T>();
  Reader r(encoded);
  Codec<T>::Decode(r, *value);
  if (!r.ok() || !r.done()) BroadcastDecodeFailed(typeid(T).name());
  return value;
}
}  // namespace internal

template <class T>
class Broadcast {
 public:
  // The value (see above).
  const T& value() const {
    return *static_cast<const T*>(
        internal::BroadcastValue(registry_, id_, &internal::DecodeBroadcast<T>));
  }
  // Its id within the application (0, 1, ...), as logs and errors name it.
  int64_t id() const { return id_; }
  // Drops the executors' copies; the value stays on the driver.
  void unpersist() const { internal::RemoveBroadcast(registry_, id_, /*destroy=*/false); }
  // Drops every copy; the broadcast cannot be used afterwards.
  void destroy() const { internal::RemoveBroadcast(registry_, id_, /*destroy=*/true); }

 private:
  friend class Context;
  Broadcast(internal::BroadcastRegistry* registry, int64_t id) : registry_(registry), id_(id) {}

  internal::BroadcastRegistry* registry_ = nullptr;  // the driver's; unused in executors
  int64_t id_ = 0;
};

}  // namespace kiln
