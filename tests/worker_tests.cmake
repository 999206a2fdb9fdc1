# Tests of the worker daemon (worker/). Included from tests/CMakeLists.txt.
kiln_add_test(NAME worker_unit_tests LABEL unit
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/worker/binary_cache_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/driver_launch_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/executor_table_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/memory_cgroups_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/shuffle_block_server_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/worker_flags_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/worker_logs_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/worker_ui_test.cc
  LIBS kiln_worker_lib kiln_test_support)

# DriverRunner with real processes (a shell script as the driver's binary): no daemon,
# no network.
kiln_add_test(NAME worker_driver_tests LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/worker/driver_runner_test.cc
  LIBS kiln_worker_lib kiln_test_support)

# Stands in for an application binary in executor mode (worker_launch_test).
add_executable(kiln_worker_fake_executor ${CMAKE_CURRENT_LIST_DIR}/worker/fake_executor.cc)
set_target_properties(kiln_worker_fake_executor PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

kiln_add_test(NAME worker_integration_tests LABEL integration
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/worker/worker_driver_launch_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/worker_launch_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/worker_process_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/worker/standby_executors_test.cc
  LIBS kiln_worker_lib kiln_clients kiln_test_support)
target_compile_definitions(worker_integration_tests PRIVATE
  KILN_FAKE_EXECUTOR="$<TARGET_FILE:kiln_worker_fake_executor>")
add_dependencies(worker_integration_tests kiln-worker kiln_worker_fake_executor)
if(TARGET kiln-master)
  add_dependencies(worker_integration_tests kiln-master)
endif()
