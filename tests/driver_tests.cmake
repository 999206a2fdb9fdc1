# Driver library: closure shipping, plans and stages, schedulers, the local-mode API,
# kiln-submit's argument checks.
kiln_add_test(NAME driver_unit_tests LABEL unit
  SOURCES driver/closure_test.cc driver/stage_builder_test.cc driver/task_scheduler_test.cc
          driver/task_set_manager_test.cc driver/speculation_test.cc
          driver/executor_allocation_test.cc
          driver/dag_scheduler_test.cc
          driver/submit_args_test.cc driver/progress_test.cc driver/readme_test.cc
          driver/events_test.cc driver/doctor_test.cc driver/broadcast_registry_test.cc
  LIBS kiln kiln_test_support)
target_sources(driver_unit_tests PRIVATE ${PROJECT_SOURCE_DIR}/driver/submit_args.cc)

# In-process local mode (threads, temp files, no sockets) and the driver's gRPC service
# on 127.0.0.1.
kiln_add_test(NAME driver_local_tests LABEL integration
  SOURCES driver/local_api_test.cc driver/local_ops_test.cc driver/local_cache_test.cc
          driver/local_union_test.cc driver/local_accumulator_test.cc driver/local_io_test.cc
          driver/local_broadcast_test.cc driver/local_join_test.cc
          driver/driver_service_test.cc
  LIBS kiln kiln_test_support)

# Local mode with a tiny memory manager: operators spill, results stay exact.
kiln_add_test(NAME driver_spill_tests LABEL integration
  SOURCES driver/local_spill_test.cc
  LIBS kiln kiln_test_support)

# The job doctor, the event log, the application UI and REST API on real jobs in local
# mode (the UI on an ephemeral port of 127.0.0.1).
kiln_add_test(NAME driver_doctor_tests LABEL integration
  SOURCES driver/local_doctor_test.cc driver/local_ui_test.cc driver/history_test.cc
  LIBS kiln kiln_test_support)

# The application UI in headless Chromium; screenshots in <build>/test-artifacts/ui/.
kiln_add_test(NAME driver_browser_tests LABEL integration
  SOURCES driver/browser_test.cc
  LIBS kiln kiln_test_support)
