#pragma once
// kiln-submit's calls to the master: cluster deploy mode (upload the binary, submit the
// driver, print its id), --status and --kill. Each returns kiln-submit's exit status and
// prints what a user needs: the result on stdout, errors as one line on stderr.

#include "driver/submit_args.h"

namespace kiln::submit {

int SubmitToCluster(const SubmitArgs& args, char** environ);
int PrintDriverStatus(const SubmitArgs& args, char** environ);
int KillDriver(const SubmitArgs& args, char** environ);

}  // namespace kiln::submit
