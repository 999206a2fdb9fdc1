#include "runtime/task_runner.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>

#include "common/codec.h"
#include "common/status.h"
#include "common/strings.h"
#include "runtime/accumulators.h"
#include "runtime/crash_report.h"
#include "runtime/op_registry.h"
#include "runtime/ops_cache.h"
#include "runtime/ops_narrow.h"
#include "runtime/shuffle_reader.h"
#include "runtime/spill.h"
#include "runtime/task_memory.h"

namespace kiln::runtime {
namespace {

using Ops = std::vector<std::unique_ptr<OpBase>>;

absl::Status Instantiate(const proto::StagePlan& plan, size_t begin, size_t end, Ops* ops) {
  for (size_t i = begin; i < end; ++i) {
    const proto::OpSpec& spec = plan.ops(static_cast<int>(i));
    ASSIGN_OR_RETURN(OpFactory factory, FindOp(spec.kind()));
    absl::StatusOr<std::unique_ptr<OpBase>> op = factory(spec.closure(), spec.params());
    if (!op.ok()) {
      return absl::Status(op.status().code(), StrCat("operator ", i, " of stage ", plan.stage_key(),
                                                     " (", DemangledType(spec.kind(), 160),
                                                     "): ", View(op.status().message())));
    }
    (*ops)[i] = *std::move(op);
  }
  return absl::OkStatus();
}

// Links ops[begin, end) one to the next and the last to `downstream` (null: it is the
// sink), then opens them.
absl::Status LinkAndOpen(Ops& ops, size_t begin, size_t end, OpBase* downstream, TaskContext& ctx) {
  for (size_t i = begin; i + 1 < end; ++i) RETURN_IF_ERROR(ops[i]->LinkTo(ops[i + 1].get()));
  if (downstream != nullptr) RETURN_IF_ERROR(ops[end - 1]->LinkTo(downstream));
  for (size_t i = begin; i < end; ++i) RETURN_IF_ERROR(ops[i]->Open(ctx));
  return absl::OkStatus();
}

// One task's operators, cut into segments before each source and boundary operator
// (coalesces, cache points, unions). The split is a tree that mirrors the segments (see
// EncodeMergeUnit / EncodeCacheUnit); the last segment ends at the sink.
struct Pipeline {
  const proto::StagePlan& plan;
  TaskContext& ctx;
  Ops ops;
  std::vector<size_t> starts;  // first op of each segment
  std::vector<bool> fresh;     // segment s holds unused operators (the first build)
};

// Runs segment `s` over one unit of the split, with fresh operators for the segment
// (so per-partition operators see one partition of their dataset) linked to
// `downstream`, the already built first operator of the segment it feeds. A source
// segment runs its source; a merge (coalesce, union, co-partitioned join) runs its
// child segment once per parent partition, each into the boundary's input for it; a
// cache point replays its block or runs the segment below to
// compute (and cache) it.
absl::Status Drive(Pipeline& p, size_t s, std::string_view unit, OpBase* downstream) {
  const size_t begin = p.starts[s];
  const size_t end = s + 1 < p.starts.size() ? p.starts[s + 1] : p.ops.size();
  Reader reader(unit);
  const int partition = static_cast<int>(reader.GetVarint());
  if (!reader.ok()) return absl::DataLossError("corrupt task split");
  const std::string_view rest = reader.GetBytes(reader.remaining());
  if (!p.fresh[s]) RETURN_IF_ERROR(Instantiate(p.plan, begin, end, &p.ops));
  p.fresh[s] = false;
  p.ctx.dataset_partition = partition;
  RETURN_IF_ERROR(LinkAndOpen(p.ops, begin, end, downstream, p.ctx));
  if (auto* source = dynamic_cast<Source*>(p.ops[begin].get())) {
    RETURN_IF_ERROR(source->Run(p.ctx, rest));
    return source->EndOutput(p.ctx);
  }
  auto* boundary = dynamic_cast<SegmentBoundary*>(p.ops[begin].get());
  if (boundary == nullptr || s == 0) {
    return absl::InternalError("a segment starts with neither a source nor a boundary");
  }
  if (auto* cache = dynamic_cast<CacheBoundary*>(boundary)) {
    Reader child(rest);
    std::string_view lineage = child.GetLengthPrefixed();
    if (!child.ok()) return absl::DataLossError("corrupt task split (cache point)");
    cache->BeginPartition(partition);
    ASSIGN_OR_RETURN(bool replayed, cache->Replay(p.ctx));
    if (!replayed) RETURN_IF_ERROR(Drive(p, s - 1, lineage, boundary));
  } else {
    Reader merge(rest);
    for (size_t ordinal = 0; !merge.done(); ++ordinal) {
      const uint64_t child = merge.GetVarint();
      const std::string_view parent = merge.GetLengthPrefixed();
      OpBase* input = boundary->Input(ordinal);
      if (!merge.ok() || child >= s || input == nullptr) {
        return absl::DataLossError("corrupt task split (coalesce, union or join)");
      }
      RETURN_IF_ERROR(Drive(p, static_cast<size_t>(child), parent, input));
    }
  }
  return boundary->FinishDownstream(p.ctx);
}

absl::Status RunPipeline(const proto::StagePlan& plan, std::string_view split, TaskContext& ctx) {
  const size_t n = static_cast<size_t>(plan.ops_size());
  if (n < 2) return absl::InternalError("a stage plan needs a source and a sink");
  Pipeline p{plan, ctx, Ops(n), {0}, {}};
  // The first build of the whole chain shows where the boundaries are; each segment
  // uses it on its first run.
  RETURN_IF_ERROR(Instantiate(plan, 0, n, &p.ops));
  for (size_t i = 1; i + 1 < n; ++i) {
    OpBase* op = p.ops[i].get();
    if (dynamic_cast<SegmentBoundary*>(op) != nullptr || dynamic_cast<Source*>(op) != nullptr) {
      p.starts.push_back(i);
    }
  }
  p.fresh.assign(p.starts.size(), true);
  return Drive(p, p.starts.size() - 1, split, nullptr);
}

}  // namespace

std::string EncodeSourceUnit(int partition, std::string_view split) {
  std::string unit;
  Writer w(&unit);
  w.PutVarint(static_cast<uint64_t>(partition));
  w.PutBytes(split.data(), split.size());
  return unit;
}

std::string EncodeMergeUnit(int partition,
                            const std::vector<std::pair<size_t, std::string>>& parents) {
  std::string unit;
  Writer w(&unit);
  w.PutVarint(static_cast<uint64_t>(partition));
  for (const auto& [segment, parent] : parents) {
    w.PutVarint(segment);
    w.PutLengthPrefixed(parent);
  }
  return unit;
}

std::string EncodeCacheUnit(int partition, std::string_view lineage) {
  std::string unit;
  Writer w(&unit);
  w.PutVarint(static_cast<uint64_t>(partition));
  w.PutLengthPrefixed(lineage);
  return unit;
}

namespace {
thread_local const std::atomic<bool>* tl_kill_flag = nullptr;
}  // namespace

bool TaskKilled() {
  return tl_kill_flag != nullptr && tl_kill_flag->load(std::memory_order_relaxed);
}
void SetTaskKillFlag(const std::atomic<bool>* flag) { tl_kill_flag = flag; }

proto::TaskStatus RunTask(const proto::StagePlan& plan, const proto::TaskDescription& task,
                          const ExecutorEnv& env, const std::atomic<bool>* killed) {
  auto start = std::chrono::steady_clock::now();
  proto::TaskStatus status;
  status.set_task_id(task.task_id());
  TaskContext ctx;
  ctx.task_id = task.task_id();
  ctx.stage_id = plan.stage_id();
  ctx.partition = task.partition();
  ctx.attempt = task.attempt();
  ctx.shuffle = env.shuffle;
  ctx.blocks = env.blocks;
  TaskMemory memory(env.memory, task.task_id());
  ctx.memory = &memory;
  SpillSpace spills(env.spill_dir, task.task_id(), env.spill_compression);
  ctx.spills = &spills;
  ctx.running = env.running;
  if (env.running != nullptr) env.running->Begin(task.task_id(), plan.stage_id(), task.partition());
  SetCurrentTask(task.task_id(), plan.stage_id(), task.partition());
  SetTaskKillFlag(killed);
  TaskAccumulators accumulators;
  SetTaskAccumulators(&accumulators);
  TaskBroadcasts broadcasts(env.broadcasts, &ctx);
  SetTaskBroadcasts(&broadcasts);
  struct Ended {
    ~Ended() {
      SetTaskBroadcasts(nullptr);
      SetTaskAccumulators(nullptr);
      SetTaskKillFlag(nullptr);
      ClearCurrentTask();
      if (running != nullptr) running->End(task_id);
    }
    RunningTasks* running;
    int64_t task_id;
  } ended{env.running, task.task_id()};

  absl::Status result;
  try {
    result = RunPipeline(plan, task.split(), ctx);
  } catch (const std::exception& e) {
    result = absl::UnknownError(StrCat("user code threw: ", e.what()));
  } catch (...) {
    result = absl::UnknownError("user code threw a non-standard exception");
  }
  ctx.metrics.run_nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  ctx.metrics.peak_execution_memory = memory.peak();
  ctx.metrics.result_bytes = static_cast<int64_t>(ctx.result.size());
  MetricsToProto(ctx.metrics, status.mutable_metrics());
  for (const BlockUpdate& u : ctx.block_updates) {
    proto::BlockUpdate* out = status.add_block_updates();
    out->set_dataset(u.dataset);
    out->set_partition(u.partition);
    out->set_stored(u.stored);
    out->set_disk(u.disk);
    out->set_bytes(u.bytes);
  }
  if (result.ok()) {
    status.set_state(proto::TASK_FINISHED);
    status.set_result(std::move(ctx.result));
    accumulators.MoveTo(&status);
    for (int64_t size : ctx.partition_sizes) status.add_partition_sizes(size);
  } else if (killed != nullptr && killed->load()) {
    status.set_state(proto::TASK_KILLED);
    status.set_error("killed by the driver: another attempt of the task won");
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
