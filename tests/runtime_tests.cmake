# Unit tests of the executor runtime's data path: block framing, shuffle writer and
# reader, text splits and line reading, the block store of cached partitions. Included from tests/CMakeLists.txt.
kiln_add_test(NAME runtime_data_tests LABEL unit
  SOURCES
    runtime/block_format_test.cc
    runtime/block_store_test.cc
    runtime/memory_manager_test.cc
    runtime/shuffle_io_test.cc
    runtime/spill_test.cc
    runtime/text_input_test.cc
    runtime/text_codec_test.cc
    runtime/object_file_test.cc
    runtime/task_kill_test.cc
    runtime/broadcast_cache_test.cc
    runtime/sort_order_test.cc
    runtime/batch_emitter_test.cc
    runtime/allocator_test.cc
    runtime/combine_table_test.cc
  LIBS kiln_runtime)
if(TARGET PkgConfig::JEMALLOC)
  # allocator_test.cc checks the options Kiln gives jemalloc (runtime/allocator.h).
  target_compile_definitions(runtime_data_tests PRIVATE KILN_WITH_JEMALLOC)
  target_link_libraries(runtime_data_tests PRIVATE PkgConfig::JEMALLOC)
endif()

# The reader's remote path against in-process fake shuffle services on 127.0.0.1.
kiln_add_test(NAME runtime_fetch_tests LABEL integration
  SOURCES runtime/shuffle_fetch_test.cc
  LIBS kiln_runtime)
