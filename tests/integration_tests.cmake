# Integration tests over the mini cluster (real kiln-master and kiln-worker processes).
kiln_add_test(NAME cluster_test LABEL integration
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/integration/cluster_test.cc
  LIBS kiln_test_support)
# The daemons must be built before the tests that start them.
if(TARGET kiln-master AND TARGET kiln-worker)
  add_dependencies(cluster_test kiln-master kiln-worker)
endif()
