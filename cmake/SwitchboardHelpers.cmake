# Warnings are for Switchboard's own CI and presets, never forced on users.
function(switchboard_warnings target)
  if(SWITCHBOARD_WARNINGS OR SWITCHBOARD_WERROR)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
      target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
      if(SWITCHBOARD_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
      endif()
    endif()
  endif()
endfunction()

# switchboard_require(<target> <find_package arguments>...): find_package
# the package, REQUIRED, unless the target already exists (a parent project
# or another component found it). A macro, so the package's variables are
# set in the caller's scope as find_package would set them.
macro(switchboard_require target)
  if(NOT TARGET ${target})
    find_package(${ARGN} REQUIRED)
  endif()
endmacro()
