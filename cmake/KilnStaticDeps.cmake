# kiln_use_static_archives(): links gRPC, Protocol Buffers, Abseil, OpenSSL, c-ares, RE2,
# upb, zlib, LZ4, zstd and xxHash into every program from their static archives, which
# Debian's -dev packages ship next to the shared libraries.
#
# Why: a program linked against the shared ones loads about 60 libraries at start, and
# the dynamic loader's symbol lookups across them took 26M of the 31M instructions of a
# Kiln program that only prints its usage: 10-12 ms per start, against 3-4 ms linked
# this way. A cold job starts three programs one after another (kiln-submit, the
# driver, its executors), and the CLI tools pay it on every call. The price: an
# application binary of about 20 MB instead of 4, which a worker fetches once per build
# of it (binaries are cached by digest).
#
# How: after find_package, every imported target of the current directory whose file is
# one of those shared libraries is pointed at the archive beside it. spdlog, fmt,
# jemalloc, libstdc++ and glibc stay shared. Call it from the directory that found the
# packages (the top level, and KilnConfig.cmake in a job's own project).

set(_kiln_static_names "^(absl_.*|grpc|grpc\\+\\+|gpr|upb|address_sorting|protobuf|ssl|crypto|cares"
                       "|re2|z|lz4|zstd|xxhash)$")
string(JOIN "" _kiln_static_names ${_kiln_static_names})

# The archive for a shared library's path or -l name, or "" when it is not one of ours or
# has none.
function(_kiln_static_archive item out)
  set(${out} "" PARENT_SCOPE)
  if(item MATCHES "^(.*/)?lib([^/]+)\\.so(\\.[0-9.]+)?$")
    set(dir "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
  elseif(item MATCHES "^-l(.+)$")
    set(dir "")
    set(name "${CMAKE_MATCH_1}")
  elseif(item MATCHES "^[A-Za-z0-9_+]+$")
    set(dir "")
    set(name "${item}")
  else()
    return()
  endif()
  if(NOT name MATCHES "${_kiln_static_names}")
    return()
  endif()
  if(dir STREQUAL "")
    find_library(_kiln_archive_${name} NAMES lib${name}.a NO_CACHE)
    set(archive "${_kiln_archive_${name}}")
  else()
    set(archive "${dir}lib${name}.a")
  endif()
  if(archive AND EXISTS "${archive}")
    set(${out} "${archive}" PARENT_SCOPE)
  endif()
endfunction()

function(kiln_use_static_archives)
  get_directory_property(targets IMPORTED_TARGETS)
  set(switched 0)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "UNKNOWN_LIBRARY")
      foreach(property IMPORTED_LOCATION IMPORTED_LOCATION_NONE IMPORTED_LOCATION_RELEASE
                       IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_DEBUG
                       IMPORTED_LOCATION_NOCONFIG)
        get_target_property(location ${target} ${property})
        if(location)
          _kiln_static_archive("${location}" archive)
          if(archive)
            set_target_properties(${target} PROPERTIES ${property} "${archive}"
                                                       IMPORTED_NO_SONAME TRUE)
            math(EXPR switched "${switched} + 1")
          endif()
        endif()
      endforeach()
    endif()
    # pkg-config's targets, and RE2's as gRPC finds it, list their libraries here.
    get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
    if(links)
      set(new_links "")
      foreach(item IN LISTS links)
        set(archive "")
        if(NOT TARGET "${item}")
          _kiln_static_archive("${item}" archive)
        endif()
        if(archive)
          list(APPEND new_links "${archive}")
          math(EXPR switched "${switched} + 1")
        else()
          list(APPEND new_links "${item}")
        endif()
      endforeach()
      set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${new_links}")
    endif()
  endforeach()
  message(STATUS "Kiln: ${switched} shared libraries replaced by their static archives")
endfunction()
