#pragma once
// RunTask: runs one task attempt: rebuilds the stage's operators from the registry,
// links them, feeds the task's split(s) through and returns the task's status (result
// bytes, map output sizes, metrics, or the error). A user function that throws fails
// the task with the exception's message. Thread-safe (no shared state besides `env`).

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "proto/task.pb.h"
#include "runtime/block_store.h"
#include "runtime/broadcasts.h"
#include "runtime/memory_manager.h"
#include "runtime/running_tasks.h"
#include "runtime/shuffle_env.h"

namespace kiln::runtime {

// What the tasks of one executor share.
struct ExecutorEnv {
  ShuffleEnv* shuffle = nullptr;
  BlockStore* blocks = nullptr;                       // null: nothing is cached
  MemoryManager* memory = nullptr;                    // null: execution memory is not limited
  std::string spill_dir;                              // where tasks spill ("" = they cannot)
  Compression spill_compression = Compression::kLz4;  // kiln.io.compression.codec
  RunningTasks* running = nullptr;                    // null: spill figures only at the end
  BroadcastSource* broadcasts = nullptr;              // null: tasks cannot read broadcasts
};

// `killed` (may be null): set by TaskPool::Kill; the task stops at its next batch and
// ends TASK_KILLED.
proto::TaskStatus RunTask(const proto::StagePlan& plan, const proto::TaskDescription& task,
                          const ExecutorEnv& env, const std::atomic<bool>* killed = nullptr);

// A task's split is a tree that mirrors the segments of its stage's operator chain:
// the chain is cut before each source and each boundary operator (coalesce, cache point,
// union), and a segment feeds the boundary that a unit names. Each unit starts with the
// partition number of the datasets its segment computes (operators see it as
// TaskContext::dataset_partition when opened): at a source, followed by the source's
// split; at a coalesce or union (a merge), by one unit per parent partition, each with
// the segment that computes it; at a cache point, by the unit that
// computes the persisted partition (in the segment just before) when no block is there.
std::string EncodeSourceUnit(int partition, std::string_view split);
std::string EncodeMergeUnit(int partition,
                            const std::vector<std::pair<size_t, std::string>>& parents);
std::string EncodeCacheUnit(int partition, std::string_view lineage);

}  // namespace kiln::runtime
