#include "worker/runtime/task_runner.h"

#include <chrono>
#include <exception>
#include <memory>

#include "common/codec.h"
#include "common/status.h"
#include "common/strings.h"
#include "worker/runtime/op_registry.h"
#include "worker/runtime/ops_narrow.h"

namespace kiln::runtime {
namespace {

using Ops = std::vector<std::unique_ptr<OpBase>>;

absl::Status Instantiate(const proto::StagePlan& plan, size_t begin, size_t end, Ops* ops) {
  for (size_t i = begin; i < end; ++i) {
    const proto::OpSpec& spec = plan.ops(static_cast<int>(i));
    ASSIGN_OR_RETURN(OpFactory factory, FindOp(spec.kind()));
    ASSIGN_OR_RETURN(std::unique_ptr<OpBase> op, factory(spec.closure(), spec.params()));
    (*ops)[i] = std::move(op);
  }
  return absl::OkStatus();
}

absl::Status LinkAndOpen(Ops& ops, size_t begin, size_t end, TaskContext& ctx) {
  for (size_t i = begin; i < end; ++i) {
    if (i + 1 < ops.size()) RETURN_IF_ERROR(ops[i]->LinkTo(ops[i + 1].get()));
  }
  for (size_t i = begin; i < end; ++i) RETURN_IF_ERROR(ops[i]->Open(ctx));
  return absl::OkStatus();
}

// The pipeline of one task. Ops before a coalesce boundary are rebuilt for each
// sub-split, so per-partition operators (map_partitions) see one parent partition.
absl::Status RunPipeline(const proto::StagePlan& plan, const std::vector<std::string>& splits,
                         TaskContext& ctx) {
  const size_t n = static_cast<size_t>(plan.ops_size());
  if (n < 2) return absl::InternalError("a stage plan needs a source and a sink");
  Ops ops(n);
  RETURN_IF_ERROR(Instantiate(plan, 0, n, &ops));
  size_t boundary = 0;  // index of the coalesce boundary, 0 = none
  for (size_t i = 1; i + 1 < n; ++i) {
    if (dynamic_cast<SegmentBoundary*>(ops[i].get()) != nullptr) boundary = i;
  }
  if (dynamic_cast<Source*>(ops[0].get()) == nullptr) {
    return absl::InternalError("the first operator of a stage is not a source");
  }
  RETURN_IF_ERROR(LinkAndOpen(ops, 0, n, ctx));
  for (size_t i = 0; i < splits.size(); ++i) {
    if (boundary != 0 && i > 0) {  // a fresh upstream segment for each parent partition
      RETURN_IF_ERROR(Instantiate(plan, 0, boundary, &ops));
      RETURN_IF_ERROR(LinkAndOpen(ops, 0, boundary, ctx));
    }
    auto* source = dynamic_cast<Source*>(ops[0].get());
    RETURN_IF_ERROR(source->Run(ctx, splits[i]));
    if (boundary != 0) RETURN_IF_ERROR(source->EndOutput(ctx));
  }
  if (boundary != 0) {
    return dynamic_cast<SegmentBoundary*>(ops[boundary].get())->FinishDownstream(ctx);
  }
  return dynamic_cast<Source*>(ops[0].get())->EndOutput(ctx);
}

}  // namespace

std::string EncodeSplits(const std::vector<std::string>& splits) { return EncodeAll(splits); }

proto::TaskStatus RunTask(const proto::StagePlan& plan, const proto::TaskDescription& task,
                          ShuffleEnv* env) {
  auto start = std::chrono::steady_clock::now();
  proto::TaskStatus status;
  status.set_task_id(task.task_id());
  TaskContext ctx;
  ctx.task_id = task.task_id();
  ctx.stage_id = plan.stage_id();
  ctx.partition = task.partition();
  ctx.attempt = task.attempt();
  ctx.app_dir = env->options().app_dir;
  ctx.worker_id = env->options().worker_id;
  ctx.shuffle = env;

  absl::Status result;
  std::vector<std::string> splits;
  if (!DecodeAll(task.split(), &splits)) {
    result = absl::DataLossError("corrupt task split");
  } else {
    try {
      result = RunPipeline(plan, splits, ctx);
    } catch (const std::exception& e) {
      result = absl::UnknownError(StrCat("user code threw: ", e.what()));
    } catch (...) {
      result = absl::UnknownError("user code threw a non-standard exception");
    }
  }
  ctx.metrics.set_run_nanos(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  *status.mutable_metrics() = ctx.metrics;
  if (result.ok()) {
    status.set_state(proto::TASK_FINISHED);
    status.set_result(std::move(ctx.result));
    for (int64_t size : ctx.partition_sizes) status.add_partition_sizes(size);
  } else if (auto failure = GetFetchFailure(result)) {
    status.set_state(proto::TASK_FETCH_FAILED);
    status.set_fetch_failed_shuffle(failure->shuffle_id);
    status.set_fetch_failed_map(failure->map_id);
    status.set_fetch_failed_address(failure->address);
    status.set_error(std::string(View(result.message())));
  } else {
    status.set_state(proto::TASK_FAILED);
    status.set_error(std::string(View(result.message())));
  }
  return status;
}

}  // namespace kiln::runtime
