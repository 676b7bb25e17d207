# One layer = one directory = one static library, with its tests beside the code.
#
#   orbitflow_layer(NAME <target> DEPS <targets...>)
#
# Sources are every *.cc in the current directory except *_test.cc; tests are every
# *_test.cc, linked into one GoogleTest binary <target>_test and registered with CTest.
# Globbing keeps adding a file a one-file change (CONFIGURE_DEPENDS re-globs on build).
function(orbitflow_layer)
  cmake_parse_arguments(ARG "" "NAME" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(tests)
    list(REMOVE_ITEM srcs ${tests})
  endif()
  add_library(${ARG_NAME} STATIC ${srcs})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
  if(ORBITFLOW_BUILD_TESTS AND tests)
    add_executable(${ARG_NAME}_test ${tests})
    target_link_libraries(${ARG_NAME}_test PRIVATE ${ARG_NAME} ${ARG_TEST_DEPS} GTest::gmock GTest::gtest_main)
    target_compile_definitions(${ARG_NAME}_test PRIVATE
      ORBITFLOW_SHARED_DATA_DIR="${ORBITFLOW_SHARED_DATA_DIR}"
      ORBITFLOW_REPO_DIR="${ORBITFLOW_REPO_DIR}")
    set_target_properties(${ARG_NAME}_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    gtest_discover_tests(${ARG_NAME}_test DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS ${ARG_NAME})
  endif()
endfunction()
