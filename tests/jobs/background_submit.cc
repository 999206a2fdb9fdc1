#include "tests/jobs/background_submit.h"

#include <unistd.h>

#include <filesystem>
#include <string_view>

#include "common/files.h"
#include "common/strings.h"
#include "common/wait.h"
#include "tests/kiln_catch.h"

namespace kiln::test::jobs {

namespace fs = std::filesystem;

BackgroundSubmit::BackgroundSubmit(const std::string& master, const TempDir& dir,
                                   const std::vector<std::string>& app_args,
                                   std::vector<std::string> env, const std::string& program,
                                   const std::string& name) {
  SpawnOptions submit;
  submit.argv = {BinPath("kiln-submit"),
                 "--master",
                 master,
                 "--conf",
                 "kiln.ui.showConsoleProgress=false",
                 program.empty() ? AppPath("slow_app") : program};
  submit.argv.insert(submit.argv.end(), app_args.begin(), app_args.end());
  if (!env.empty()) {
    auto key = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
    for (char** e = environ; *e != nullptr; ++e) {
      bool replaced = false;
      for (const std::string& kv : env) replaced = replaced || key(kv) == key(*e);
      if (!replaced) submit.env.push_back(*e);
    }
    submit.env.insert(submit.env.end(), env.begin(), env.end());
  }
  submit.stdout_path = dir.Sub(name + ".out");
  submit.stderr_path = dir.Sub(name + ".err");
  absl::StatusOr<pid_t> pid = Spawn(submit);
  REQUIRE(pid.ok());
  pid_ = *pid;
}

BackgroundSubmit::~BackgroundSubmit() {
  if (!exit_) Terminate(pid_, std::chrono::seconds(1));
}

const std::optional<ExitInfo>& BackgroundSubmit::Wait(milliseconds timeout) {
  WaitFor([&] { return (exit_ = TryWait(pid_)).has_value(); }, timeout);
  return exit_;
}

std::string ExpectSameOutput(BackgroundSubmit& submit, const TempDir& dir,
                             const MiniCluster& cluster) {
  const std::optional<ExitInfo>& exit = submit.Wait();
  REQUIRE(exit.has_value());
  const std::string err = ReadFile(dir.Sub("submit.err")).value_or("");
  INFO("kiln-submit stderr: " << err);
  CHECK(exit->code() == 0);
  CHECK(ReadParts(dir.Sub("out")) == ReadParts(dir.Sub("reference")));
  REQUIRE_OK(CheckClusterIdle(cluster));
  return err;
}

int MapOutputsUnder(const std::string& dir, int shuffle) {
  const std::string prefix = shuffle >= 0 ? StrCat("shuffle_", shuffle, "_") : "";
  int outputs = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    outputs += name.starts_with(prefix) && name.ends_with(".index") ? 1 : 0;
  }
  return outputs;
}

int RegisteredExecutors(const MiniCluster& cluster, const std::string& app) {
  int registered = 0;
  for (int i = 0; i < cluster.num_workers(); ++i) {
    std::error_code ec;
    for (const fs::directory_entry& e :
         fs::directory_iterator(cluster.worker_work_dir(i) + "/" + app, ec)) {
      registered += fs::exists(e.path() / "registered", ec) ? 1 : 0;
    }
  }
  return registered;
}

}  // namespace kiln::test::jobs
