# cmake -DPKG_CONFIG=... -DSOURCE_DIR=... -DWORK_DIR=... -DPREFIX=... -DLIBDIR=... [-DCOMPONENTS=a;b]
#       [-DCOMPILER=...] [-DLAUNCHER=...] -P run_pkg_config.cmake
# Compiles, links and runs tests/cmake/consumer's programs with nothing but
# `pkg-config --cflags --libs switchboard[-<component>]` of the tree installed in PREFIX.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(ENV{PKG_CONFIG_PATH} ${PREFIX}/${LIBDIR}/pkgconfig)
if(NOT COMPILER)
  set(COMPILER c++)
endif()

set(programs "switchboard=main.cpp")
string(REPLACE "\\;" ";" COMPONENTS "${COMPONENTS}")  # kept one argument on the way here
foreach(comp IN LISTS COMPONENTS)
  list(APPEND programs "switchboard-${comp}=component_${comp}.cpp")
endforeach()
foreach(program IN LISTS programs)
  string(REPLACE "=" ";" program ${program})
  list(GET program 0 module)
  list(GET program 1 source)
  execute_process(COMMAND ${PKG_CONFIG} --print-errors --cflags --libs ${module}
    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config ${module} failed (${rc}); PKG_CONFIG_PATH=$ENV{PKG_CONFIG_PATH}")
  endif()
  message(STATUS "pkg-config --cflags --libs ${module}: ${flags}")
  # The installed file must name the prefix it was installed to, not the configured one.
  string(FIND "${flags}" "-I${PREFIX}/include" at_include)
  string(FIND "${flags}" "-L${PREFIX}/${LIBDIR}" at_lib)
  if(at_include EQUAL -1 OR at_lib EQUAL -1)
    message(FATAL_ERROR "pkg-config ${module} does not point into ${PREFIX}: ${flags}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  # The headers need C++17, like any C++17 library's; pkg-config cannot say "at least".
  set(cmd ${LAUNCHER} ${COMPILER} -std=c++17 ${SOURCE_DIR}/tests/cmake/consumer/${source} ${flags}
      -o ${WORK_DIR}/${module})
  execute_process(COMMAND ${cmd} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${cmd}")
    message(FATAL_ERROR "consumer (pkg-config ${module}) failed to build: ${rc}\n  ${cmd}")
  endif()
  execute_process(COMMAND ${WORK_DIR}/${module} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (pkg-config ${module}) failed at run: ${rc}")
  endif()
endforeach()
