# Test support: status assertions, temp dirs, the Catch2 failure listener, the
# multi-process mini cluster and RunCommand. Included from tests/CMakeLists.txt.
find_package(nlohmann_json CONFIG REQUIRED)

add_library(kiln_test_support STATIC
  ${CMAKE_CURRENT_LIST_DIR}/failure_listener.cc
  ${CMAKE_CURRENT_LIST_DIR}/mini_cluster.cc
  ${CMAKE_CURRENT_LIST_DIR}/processes.cc
  ${CMAKE_CURRENT_LIST_DIR}/prometheus_text.cc
  ${CMAKE_CURRENT_LIST_DIR}/run_command.cc
  ${CMAKE_CURRENT_LIST_DIR}/test_util.cc)
target_link_libraries(kiln_test_support
  PUBLIC kiln_common kiln_http Catch2::Catch2 nlohmann_json::nlohmann_json
  PRIVATE kiln_warnings)
target_include_directories(kiln_test_support PUBLIC ${PROJECT_SOURCE_DIR})
# Where the mini cluster finds kiln-master and kiln-worker.
target_compile_definitions(kiln_test_support PRIVATE
  KILN_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")

kiln_add_test(NAME support_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/support_test.cc
  LIBS kiln_test_support)
