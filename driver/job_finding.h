#pragma once
// JobFinding: one thing the job doctor found wrong with a job, with its evidence and what
// to change (see driver/doctor.h for the rules, README "Job doctor").

#include <string>
#include <vector>

namespace kiln {

struct JobFinding {
  std::string kind;   // "skew", "spill", "partitions", "straggler" or "failures"
  int stage_id = -1;  // the stage it is about; -1: the job as a whole
  std::string title;  // what is wrong, in one line
  std::vector<std::string> evidence;
  std::string fix;
};

}  // namespace kiln
