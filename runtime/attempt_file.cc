#include "runtime/attempt_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "common/status.h"
#include "common/strings.h"

namespace kiln::runtime {

std::string PartFileName(int partition) {
  char name[32];
  std::snprintf(name, sizeof(name), "part-%05d", partition);
  return name;
}

AttemptFile::~AttemptFile() {
  if (fd_.valid()) {
    fd_.Reset();
    ::unlink(path_.c_str());  // a failed attempt leaves nothing behind
  }
}

absl::Status AttemptFile::Open(const std::string& dir, const TaskContext& ctx,
                               std::string_view extension) {
  path_ = StrCat(dir, "/_temporary/", PartFileName(ctx.partition), "-attempt-", ctx.task_id, "-",
                 ctx.attempt, extension);
  ASSIGN_OR_RETURN(fd_, OpenFile(path_, O_WRONLY | O_CREAT | O_TRUNC, "output file"));
  return absl::OkStatus();
}

absl::Status AttemptFile::Write(std::string_view bytes) {
  bytes_ += static_cast<int64_t>(bytes.size());
  return WriteAll(fd_.get(), bytes, path_);
}

absl::Status AttemptFile::Close(TaskContext& ctx) {
  RETURN_IF_ERROR(fd_.Close(path_));
  ctx.result = path_.substr(path_.rfind('/') + 1);
  ctx.metrics.output_bytes = bytes_;
  return absl::OkStatus();
}

bool AttemptFile::DecodeResult(std::string_view result, std::string_view* attempt_file) {
  *attempt_file = result;
  return !result.empty() && result.find('/') == std::string_view::npos && result != "." &&
         result != "..";
}

}  // namespace kiln::runtime
