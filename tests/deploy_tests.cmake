# Real clusters from deploy/: bash scripts, each skipped (exit 77) where it cannot run
# here, each serial since it loads both cores. They use the programs of this build tree.
function(kiln_add_deploy_test name label script)
  add_test(NAME ${name} COMMAND bash ${PROJECT_SOURCE_DIR}/deploy/${script})
  set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT 900 SKIP_RETURN_CODE 77
                       RUN_SERIAL TRUE ENVIRONMENT KILN_BUILD_DIR=${CMAKE_BINARY_DIR})
endfunction()

# The docker-compose cluster (deploy/docker-test.sh builds the image from this tree).
kiln_add_deploy_test(
  "docker: the compose cluster counts words exactly, also through a killed and a cut-off worker"
  docker docker-test.sh)
# Daemons on separate machines: network namespaces, started with deploy/sbin.
kiln_add_deploy_test(
  "netns: sbin daemons on four hosts count words exactly, also through a worker's link going down"
  netns netns-test.sh)
