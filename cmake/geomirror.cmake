# Helpers shared by every module: one way to declare a library, an executable
# and a unit test, so warnings, sanitizers and include roots stay uniform.

# Warnings for our own targets only (third-party headers come in as SYSTEM).
function(geomirror_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(GEOMIRROR_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# geomirror_library(<name> SOURCES ... [DEPS ...])
# A static library rooted at the repository (includes look like
# "broker-core/storage/segment.h").
function(geomirror_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${GEOMIRROR_GENERATED_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  geomirror_apply_warnings(${name})
endfunction()

# geomirror_executable(<name> SOURCES ... [DEPS ...])
function(geomirror_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  geomirror_apply_warnings(${name})
endfunction()

# geomirror_test(<name> SOURCES ... [DEPS ...] [LABELS ...])
# A GTest binary registered with CTest as one test (fast to list, one process).
function(geomirror_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  geomirror_apply_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set(labels unit ${ARG_LABELS})
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 300)
endfunction()
