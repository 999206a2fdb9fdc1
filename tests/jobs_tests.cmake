# End-to-end job tests: kiln-submit runs the examples and the test applications of
# tests/apps on a mini cluster and in local mode, and the tests compare the outputs
# with references computed independently. Included from tests/CMakeLists.txt.

# Test applications: plain Kiln programs, shipped to executors like any user's binary.
set(KILN_TEST_APPS_DIR ${CMAKE_BINARY_DIR}/tests/apps)
foreach(app failing_app api_app slow_app cache_app spill_app straggler_app phases_app
    slow_host_app broadcast_app)
  add_executable(${app} ${CMAKE_CURRENT_LIST_DIR}/apps/${app}.cc)
  target_link_libraries(${app} PRIVATE kiln kiln_warnings)
  set_target_properties(${app} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${KILN_TEST_APPS_DIR})
endforeach()

add_library(kiln_job_test_util STATIC ${CMAKE_CURRENT_LIST_DIR}/jobs/job_util.cc
  ${CMAKE_CURRENT_LIST_DIR}/jobs/background_submit.cc)
target_link_libraries(kiln_job_test_util PUBLIC kiln_test_support PRIVATE kiln_warnings)
target_compile_definitions(kiln_job_test_util PRIVATE
  KILN_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}"
  KILN_TEST_APPS_DIR="${KILN_TEST_APPS_DIR}")

kiln_add_test(NAME jobs_test LABEL integration
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/jobs/wordcount_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/city_report_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/submit_errors_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/failure_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/api_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/cache_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/cli_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/sharing_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/speculation_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/dynamic_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/cluster_mode_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/metrics_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/doctor_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/broadcast_test.cc
  LIBS kiln_job_test_util)

# Faults injected while a job runs (label fault).
kiln_add_test(NAME fault_test LABEL fault
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/jobs/fault_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/crash_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/disk_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/master_restart_test.cc
  LIBS kiln_job_test_util)
add_dependencies(fault_test kiln-master kiln-worker kiln-submit slow_app failing_app)

# Ten jobs under random kills of executors and workers (label chaos: about a minute).
kiln_add_test(NAME chaos_test LABEL chaos
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jobs/chaos_test.cc
  LIBS kiln_job_test_util)
add_dependencies(chaos_test kiln-master kiln-worker kiln-submit wordcount city_report)
# Everything the tests start must be built first.
add_dependencies(jobs_test kiln-master kiln-worker kiln-submit wordcount city_report
  failing_app api_app slow_app cache_app straggler_app phases_app slow_host_app broadcast_app
  kiln-doctor)

# The benchmark programs give correct outputs (no timing here).
kiln_add_test(NAME bench_programs_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jobs/bench_programs_test.cc
  LIBS kiln_job_test_util)
add_dependencies(bench_programs_test kiln-submit kiln_bench bench_data bench_single_wordcount
  bench_single_sort bench_single_pagerank)

# cmake --install, and examples/standalone built against the installed tree and run by
# the installed kiln-submit.
kiln_add_test(NAME install_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jobs/install_test.cc
  LIBS kiln_job_test_util)
target_compile_definitions(install_test PRIVATE
  KILN_CMAKE="${CMAKE_COMMAND}"
  KILN_CMAKE_GENERATOR="${CMAKE_GENERATOR}"
  KILN_BUILD_DIR="${CMAKE_BINARY_DIR}"
  KILN_INSTALL_LIBDIR="${CMAKE_INSTALL_LIBDIR}")
# Everything `cmake --install` copies must be built first.
add_dependencies(install_test kiln-master kiln-worker kiln-submit kiln)

# Jobs over several times their executor's memory (label memory: about a minute).
kiln_add_test(NAME memory_test LABEL memory
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jobs/spill_test.cc
  LIBS kiln_job_test_util)

# kiln.authenticate on a real cluster: every RPC method refused without the secret, a job
# with it, the secret in no argv, environment, log or page; TLS; a fuzz of every method.
kiln_add_test(NAME security_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jobs/security_test.cc ${CMAKE_CURRENT_LIST_DIR}/jobs/fuzz_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/jobs/rpc_probe.cc
  LIBS kiln_job_test_util kiln)
add_dependencies(security_test kiln-master kiln-worker kiln-submit wordcount slow_app)
