// A Catch2 listener that remembers whether the running test case has failed, so that
// the mini cluster can print its nodes' logs only when they help.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "tests/kiln_catch.h"
#include "tests/support/test_util.h"

namespace kiln::test {
namespace {

bool current_test_failed = false;

class FailureListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    current_test_failed = false;
    TestEventListenerBase::testCaseStarting(info);
  }
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) current_test_failed = true;
    return TestEventListenerBase::assertionEnded(stats);
  }
};

}  // namespace

// The macro pastes the type into a variable name, so it is used unqualified, here.
CATCH_REGISTER_LISTENER(FailureListener)

bool CurrentTestFailed() { return current_test_failed; }

}  // namespace kiln::test
