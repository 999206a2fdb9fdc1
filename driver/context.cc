#include "driver/context.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/executor_command.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/strings.h"
#include "driver/driver.h"
#include "runtime/executor_process.h"
#include "runtime/text_input.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace kiln {
namespace {

// Settings of a program started by kiln-submit travel in KILN_SUBMIT_CONF; a program
// started directly reads KILN_CONF_* variables. The error names the bad key.
absl::StatusOr<Config> LoadConfig(const ContextOptions& options) {
  const char* submitted = std::getenv("KILN_SUBMIT_CONF");
  ASSIGN_OR_RETURN(Config conf, submitted != nullptr ? Config::Deserialize(submitted)
                                                     : Config::Load({}, "", environ));
  for (const std::string& kv : options.conf) RETURN_IF_ERROR(conf.SetFromFlag(kv));
  if (!options.master.empty()) RETURN_IF_ERROR(conf.Set("kiln.master", options.master));
  if (!options.app_name.empty()) RETURN_IF_ERROR(conf.Set("kiln.app.name", options.app_name));
  // Unnamed: the program's file name, as kiln-submit names it.
  if (conf.GetString("kiln.app.name").empty()) {
    RETURN_IF_ERROR(conf.Set("kiln.app.name", program_invocation_short_name));
  }
  RETURN_IF_ERROR(conf.CheckConsistency());
  return conf;
}

// The settings, or the failure reported as ContextOptions::exit_on_failure says: a line
// on stderr and exit code 2 (bad input), or kiln::JobFailed.
Config ConfigOrFail(const ContextOptions& options) {
  absl::StatusOr<Config> conf = LoadConfig(options);
  if (conf.ok()) return *std::move(conf);
  const std::string message(View(conf.status().message()));
  if (!options.exit_on_failure) throw JobFailed(message);
  std::fprintf(stderr, "kiln: %s\n", message.c_str());
  std::exit(2);
}

void EnsureLogging() {
  if (spdlog::get("driver") == nullptr) InitLogging("driver", "warn");
}

}  // namespace

void RunIfExecutor(int argc, char** argv) {
  if (!IsExecutorInvocation(argc, argv)) return;
  std::fflush(nullptr);
  std::_Exit(runtime::RunExecutorProcess(argc, argv));
}

Context::Context(int argc, char** argv) {
  RunIfExecutor(argc, argv);
  ContextOptions options;
  if (std::getenv("KILN_SUBMIT_CONF") == nullptr && argc > 0) {
    options.app_name = std::filesystem::path(argv[0]).filename().string();
  }
  EnsureLogging();
  Config conf = ConfigOrFail(options);
  internal::DriverOptions driver_options{.conf = conf,
                                         .app_name = conf.GetString("kiln.app.name"),
                                         .exit_on_failure = true,
                                         .announce = std::getenv("KILN_SUBMIT_CONF") != nullptr,
                                         .handle_interrupts = true};
  driver_ = std::make_unique<internal::Driver>(std::move(driver_options));
}

Context::Context(ContextOptions options) {
  EnsureLogging();
  Config conf = ConfigOrFail(options);
  internal::DriverOptions driver_options{conf, conf.GetString("kiln.app.name"),
                                         options.exit_on_failure};
  driver_ = std::make_unique<internal::Driver>(std::move(driver_options));
}

Context::~Context() = default;

namespace {

// A source node reading `splits`, one partition each.
std::shared_ptr<internal::PlanNode> SourceNode(internal::Driver& driver, const char* name,
                                               runtime::OpSpec op,
                                               std::vector<std::string> splits) {
  auto node = std::make_shared<internal::PlanNode>();
  node->kind = internal::PlanNode::Kind::kSource;
  node->id = driver.NewNodeId();
  node->name = name;
  node->num_partitions = static_cast<int>(splits.size());
  node->op = std::move(op);
  node->splits = std::move(splits);
  return node;
}

}  // namespace

std::shared_ptr<internal::PlanNode> Context::FileSource(const std::string& path, const char* name,
                                                        runtime::OpSpec op) {
  std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  absl::StatusOr<std::vector<runtime::FileSplit>> splits =
      runtime::ComputeSplits(absolute, driver_->conf().GetBytes("kiln.files.maxPartitionBytes"));
  if (!splits.ok()) driver_->Fail(StrCat(name, ": ", View(splits.status().message())));
  std::vector<std::string> encoded;
  for (const runtime::FileSplit& split : *splits)
    encoded.push_back(runtime::EncodeFileSplit(split));
  return SourceNode(*driver_, name, std::move(op), std::move(encoded));
}

Dataset<std::string> Context::text_file(const std::string& path) {
  return Dataset<std::string>(
      driver_.get(), FileSource(path, "text_file", runtime::MakeOp<runtime::TextFileSource>()));
}

Dataset<std::pair<std::string, std::string>> Context::whole_text_files(const std::string& path,
                                                                       int min_partitions) {
  if (min_partitions < 0) driver_->Fail("whole_text_files: min_partitions must be >= 0");
  std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  auto files = runtime::ListInputFiles(absolute);
  if (!files.ok()) driver_->Fail(StrCat("whole_text_files: ", View(files.status().message())));
  int64_t total = 0;
  for (const auto& file : *files) total += file.second;
  int64_t max_bytes = driver_->conf().GetBytes("kiln.files.maxPartitionBytes");
  if (min_partitions > 0) {  // Spark's maxSplitSize: the total over min_partitions, rounded up
    max_bytes =
        std::min(max_bytes, std::max<int64_t>(1, (total + min_partitions - 1) / min_partitions));
  }
  std::vector<std::string> splits;
  for (const auto& group : runtime::GroupFiles(*files, max_bytes)) {
    splits.push_back(runtime::WholeTextFilesSource::EncodeSplit(group));
  }
  return Dataset<std::pair<std::string, std::string>>(
      driver_.get(),
      SourceNode(*driver_, "whole_text_files", runtime::MakeOp<runtime::WholeTextFilesSource>(),
                 std::move(splits)));
}

const std::string& Context::app_id() const { return driver_->app_id(); }
std::string Context::ui_url() {
  driver_->app_id();  // started
  return driver_->UiUrl();
}
int Context::default_parallelism() { return driver_->DefaultParallelism(); }
void Context::stop() { driver_->Stop("FINISHED"); }
internal::JobRunner* Context::runner() { return driver_.get(); }

internal::AccumulatorRegistry* Context::accumulators() { return driver_->accumulators(); }

int64_t Context::NewAccumulator(internal::AccumulatorKind kind, const std::string& name) {
  return driver_->accumulators()->Register(kind, name);
}

internal::BroadcastRegistry* Context::broadcasts() { return driver_->broadcasts(); }

int64_t Context::NewBroadcast(std::shared_ptr<const void> value,
                              std::function<std::string()> encode, const char* mangled_type) {
  return driver_->broadcasts()->Add(std::move(value), std::move(encode),
                                    DemangledType(mangled_type, 120));
}

LongAccumulator Context::long_accumulator(const std::string& name) {
  return {accumulators(), NewAccumulator(internal::AccumulatorKind::kLong, name)};
}

DoubleAccumulator Context::double_accumulator(const std::string& name) {
  return {accumulators(), NewAccumulator(internal::AccumulatorKind::kDouble, name)};
}

}  // namespace kiln
