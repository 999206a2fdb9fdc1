# Tests of common/: pure unit tests, and the subprocess test (real processes).
kiln_add_test(NAME common_test LABEL unit
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/common/background_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/binary_digest_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/codec_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/executor_command_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/files_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/key_hash_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/master_url_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/metrics_text_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/ready_file_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/rpc_security_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/settings_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/strings_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/units_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/common/words_test.cc
  LIBS kiln_common kiln_test_support)

kiln_add_test(NAME subprocess_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/common/subprocess_test.cc
  LIBS kiln_common kiln_test_support)

# The client wrappers against services on 127.0.0.1, in this process.
kiln_add_test(NAME clients_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/common/driver_client_test.cc
  LIBS kiln_clients kiln_test_support)

# The daemons' HTTP server on 127.0.0.1.
kiln_add_test(NAME http_server_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/common/http_server_test.cc
  LIBS kiln_http kiln_test_support)
