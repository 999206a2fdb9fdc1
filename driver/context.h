#pragma once
// kiln::Context: the entry point of a Kiln application.
//
//   int main(int argc, char** argv) {
//     kiln::Context ctx(argc, argv);
//     auto lines = ctx.text_file(argv[1]);
//     ...
//   }
//
// The same binary is the executor: when a worker starts it with --kiln-executor, the
// Context constructor runs the executor and exits; the rest of main never runs there.
// A program that checks its own arguments first calls kiln::RunIfExecutor at the top of
// main, before it looks at them:
//
//   int main(int argc, char** argv) {
//     kiln::RunIfExecutor(argc, argv);  // never returns in an executor
//     if (argc != 3) { std::fprintf(stderr, "usage: ...\n"); return 2; }
//     kiln::Context ctx(argc, argv);
//
// Settings come from kiln-submit (or, run directly, from KILN_CONF_* variables), the
// default master being local[*].

#include <functional>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "common/codec.h"
#include "driver/accumulator.h"
#include "driver/broadcast.h"
#include "driver/dataset.h"

namespace kiln {

namespace internal {
class Driver;
}

// When a worker started this binary as an executor (--kiln-executor ...), runs the
// executor and exits the process; otherwise returns at once.
void RunIfExecutor(int argc, char** argv);

struct ContextOptions {
  std::string master;             // overrides kiln.master when not empty
  std::string app_name;           // overrides kiln.app.name when not empty
  std::vector<std::string> conf;  // "key=value" settings
  // By default a failed job prints its error and exits 1 (after stopping the
  // application), and a bad setting prints its error and exits 2; with false, the
  // constructor and the actions throw kiln::JobFailed instead.
  bool exit_on_failure = true;
};

class Context {
 public:
  Context(int argc, char** argv);
  explicit Context(ContextOptions options);
  ~Context();  // ends the application (FINISHED)
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // The records of `data`, cut into `slices` partitions (0 = the default parallelism).
  template <class T>
  Dataset<T> parallelize(std::vector<T> data, int slices = 0) {
    if (slices < 0) runner()->Fail("parallelize: slices must be > 0");
    int n = slices > 0 ? slices : runner()->DefaultParallelism();
    auto node = std::make_shared<internal::PlanNode>();
    node->kind = internal::PlanNode::Kind::kSource;
    node->id = runner()->NewNodeId();
    node->name = "parallelize";
    node->num_partitions = n;
    node->op = runtime::MakeOp<runtime::ParallelizeSource<T>>();
    const size_t size = data.size();
    for (int i = 0; i < n; ++i) {
      size_t begin = size * static_cast<size_t>(i) / static_cast<size_t>(n);
      size_t end = size * static_cast<size_t>(i + 1) / static_cast<size_t>(n);
      node->splits.push_back(
          runtime::ParallelizeSource<T>::EncodeSplit(data.begin() + begin, data.begin() + end));
    }
    return Dataset<T>(runner(), std::move(node));
  }

  // The lines of a text file, or of every file in a directory (names starting with
  // '.' or '_' skipped), split into byte ranges of kiln.files.maxPartitionBytes. A file
  // named *.gz (gzip) or *.zst (zstd) is decompressed, and is one split: a compressed
  // stream cannot be cut. A missing path fails here, on the driver.
  Dataset<std::string> text_file(const std::string& path);

  // Spark's wholeTextFiles: one (path, text) record per file of `path` (a file, or the
  // files of a directory as text_file lists them, empty ones included), the text
  // decompressed as text_file does. Files go to partitions whole, in name order, each
  // partition up to kiln.files.maxPartitionBytes, or up to the total over
  // `min_partitions` when that is smaller. A file is held in memory whole.
  Dataset<std::pair<std::string, std::string>> whole_text_files(const std::string& path,
                                                                int min_partitions = 0);

  // Spark's accumulators (see driver/accumulator.h): functions add to them in tasks,
  // the driver reads them; each successful task's additions count once. A named one
  // is listed at the end of each job that changed it, and on the UI's stage pages.
  LongAccumulator long_accumulator(const std::string& name = "");
  DoubleAccumulator double_accumulator(const std::string& name = "");
  template <class T>
  CollectionAccumulator<T> collection_accumulator(const std::string& name = "") {
    return {accumulators(), NewAccumulator(internal::AccumulatorKind::kCollection, name)};
  }

  // Spark's broadcast variables (see driver/broadcast.h): `value` is shipped to each
  // executor once, fetched in chunks from the driver or from peers that hold it, and
  // read in tasks with value(). T needs a kiln::Codec.
  template <class T>
  Broadcast<T> broadcast(T value) {
    auto shared = std::make_shared<const T>(std::move(value));
    return {broadcasts(), NewBroadcast(
                              shared,
                              [shared] {
                                std::string encoded;
                                Writer w(&encoded);
                                Codec<T>::Encode(w, *shared);
                                return encoded;
                              },
                              typeid(T).name())};
  }

  // The records save_as_object_file wrote (a directory of part files, or one file),
  // read in byte-range splits of kiln.files.maxPartitionBytes. T must be the type they
  // were written as: a file of another type fails the task, naming both.
  template <class T>
  Dataset<T> object_file(const std::string& path) {
    return Dataset<T>(
        runner(), FileSource(path, "object_file", runtime::MakeOp<runtime::ObjectFileSource<T>>()));
  }

  const std::string& app_id() const;
  // What each stage of the last job did: tasks, records and shuffle bytes, spills, peak
  // task memory, the largest partition (the driver also logs it at info level).
  std::vector<StageMetrics> last_job_stages() { return runner()->LastJobStages(); }
  // What the job doctor found wrong with the last job (also printed on stderr at its
  // end): skew, spills, partition counts, stragglers, failures. Empty for a healthy job.
  std::vector<JobFinding> last_job_findings() { return runner()->LastJobFindings(); }
  // http://host:port of the application's UI (jobs, stages, storage, executors,
  // environment, the job doctor) and REST API; "" with kiln.ui.enabled=false. Starts the
  // application if it has not started yet.
  std::string ui_url();
  int default_parallelism();
  // Ends the application now (the destructor does it otherwise).
  void stop();

  internal::JobRunner* runner();

 private:
  // A source node over the splits of the files of `path` (a missing path fails here,
  // `name` in the message).
  std::shared_ptr<internal::PlanNode> FileSource(const std::string& path, const char* name,
                                                 runtime::OpSpec op);
  internal::AccumulatorRegistry* accumulators();
  int64_t NewAccumulator(internal::AccumulatorKind kind, const std::string& name);
  internal::BroadcastRegistry* broadcasts();
  int64_t NewBroadcast(std::shared_ptr<const void> value, std::function<std::string()> encode,
                       const char* mangled_type);

  std::unique_ptr<internal::Driver> driver_;
};

}  // namespace kiln
