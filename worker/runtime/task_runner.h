#pragma once
// RunTask: runs one task attempt: rebuilds the stage's operators from the registry,
// links them, feeds the task's split(s) through and returns the task's status (result
// bytes, map output sizes, metrics, or the error). A user function that throws fails
// the task with the exception's message. Thread-safe (no shared state besides `env`).

#include <string>
#include <vector>

#include "proto/task.pb.h"
#include "worker/runtime/shuffle_env.h"

namespace kiln::runtime {

proto::TaskStatus RunTask(const proto::StagePlan& plan, const proto::TaskDescription& task,
                          ShuffleEnv* env);

// A task's split field is a list of sub-splits: one per parent partition (several for a
// coalesced partition).
std::string EncodeSplits(const std::vector<std::string>& splits);

}  // namespace kiln::runtime
