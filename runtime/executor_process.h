#pragma once
// The executor process: what the user's binary becomes when a worker starts it with
// --kiln-executor (kiln::Context detects this and never returns to the user's main; the
// command line is common/executor_command.h's).
// It connects one bidirectional stream to the driver, registers (the driver checks the
// binary digest), runs the tasks it is sent on `--cores` threads and streams their
// statuses back in batches. It exits 0 when the driver shuts it down and 1 when the
// driver goes away.

namespace kiln::runtime {

// Runs the executor until the driver shuts it down; returns the process exit code.
int RunExecutorProcess(int argc, const char* const* argv);

}  // namespace kiln::runtime
