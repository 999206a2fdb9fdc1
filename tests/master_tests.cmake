# The master's tests: logic units without a network, and kiln-master as a process.
kiln_add_test(NAME master_unit_tests LABEL unit
  SOURCES master/allocator_test.cc master/master_test.cc master/retries_test.cc master/master_random_test.cc
          master/sharing_test.cc master/recovery_test.cc master/drivers_test.cc
          master/json_view_test.cc
          master/master_flags_test.cc master/loops_test.cc
  LIBS kiln_master_lib kiln_test_support)

kiln_add_test(NAME master_process_tests LABEL integration
  SOURCES master/master_process_test.cc
  LIBS kiln_common kiln_http kiln_clients)
# The integration test runs the binary.
add_dependencies(master_process_tests kiln-master)
