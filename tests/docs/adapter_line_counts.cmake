# Keeps the adapter sizes that README.md and docs/adapters.md quote honest:
# each must be within 10% of what the adapters in src/ measure (lines that
# are neither blank nor comments).
#   cmake -DSOURCE_DIR=<repo> -P adapter_line_counts.cmake
function(measure folder out)
  file(GLOB files ${SOURCE_DIR}/src/${folder}/*.cpp ${SOURCE_DIR}/src/${folder}/*.hpp)
  set(count 0)
  foreach(f IN LISTS files)
    file(STRINGS ${f} lines)
    foreach(line IN LISTS lines)
      if(NOT line MATCHES "^[ \t]*$" AND NOT line MATCHES "^[ \t]*(//|/\\*|\\*)")
        math(EXPR count "${count} + 1")
      endif()
    endforeach()
  endforeach()
  set(${out} ${count} PARENT_SCOPE)
endfunction()

function(check what claimed measured)
  math(EXPR low "${measured} * 9 / 10")
  math(EXPR high "${measured} * 11 / 10")
  if(claimed LESS low OR claimed GREATER high)
    message(SEND_ERROR "${what} says ${claimed} lines; the adapter measures ${measured}: update the text")
  else()
    message(STATUS "${what}: ${claimed} lines claimed, ${measured} measured")
  endif()
endfunction()

measure(websocketpp websocketpp_lines)
measure(qt qt_lines)

# The two sizes `document` quotes, found by `pattern` (websocketpp's, then Qt's), checked.
function(check_document document pattern)
  file(READ ${SOURCE_DIR}/${document} text)
  string(REGEX REPLACE "[ \n]+" " " text "${text}")
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${document} no longer quotes the adapters' sizes as this test expects")
  endif()
  check("${document} (websocketpp)" ${CMAKE_MATCH_1} ${websocketpp_lines})
  check("${document} (Qt)" ${CMAKE_MATCH_2} ${qt_lines})
endfunction()

check_document(README.md "takes ([0-9]+) lines over websocketpp and ([0-9]+) over Qt")
check_document(docs/adapters.md "the websocketpp adapter is ([0-9]+) lines and the Qt adapter ([0-9]+)")
