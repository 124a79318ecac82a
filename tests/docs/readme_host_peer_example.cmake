# Keeps the program README.md shows for the host peer equal to
# examples/host_peer_bot/main.cpp: the README's code block after the line
# naming that file must be the file's main(), from "int main(" to its end.
#   cmake -DSOURCE_DIR=<repo> -P readme_host_peer_example.cmake
file(READ ${SOURCE_DIR}/README.md readme)
file(READ ${SOURCE_DIR}/examples/host_peer_bot/main.cpp program)

string(FIND "${readme}" "`examples/host_peer_bot/main.cpp`" at)
if(at LESS 0)
  message(FATAL_ERROR "README.md no longer names examples/host_peer_bot/main.cpp")
endif()
string(SUBSTRING "${readme}" ${at} -1 readme)
string(FIND "${readme}" "```cpp\n" open)
string(SUBSTRING "${readme}" ${open} -1 readme)
string(LENGTH "```cpp\n" skip)
string(SUBSTRING "${readme}" ${skip} -1 readme)
string(FIND "${readme}" "\n```" close)
string(SUBSTRING "${readme}" 0 ${close} shown)

string(FIND "${program}" "int main(" main_at)
string(SUBSTRING "${program}" ${main_at} -1 main)
string(STRIP "${main}" main)
string(STRIP "${shown}" shown)
if(NOT shown STREQUAL main)
  message(FATAL_ERROR "README.md's host peer program differs from main() in examples/host_peer_bot/main.cpp: copy it again")
endif()
message(STATUS "README.md shows main() of examples/host_peer_bot/main.cpp as it is")
