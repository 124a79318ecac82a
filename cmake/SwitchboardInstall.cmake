include(CMakePackageConfigHelpers)

set(SWITCHBOARD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Switchboard)

# Install components, one per Debian package (cmake/SwitchboardPackaging.cmake):
#   devel   headers, static libraries and .so links, CMake and pkg-config files, docs and examples
#   libs    the shared libraries (a BUILD_SHARED_LIBS build only)
#   server  switchboard-server, its web files, systemd unit and /etc/default file
#           (the root CMakeLists.txt gives server/'s own rules this component)

# switchboard_install_configured(<template> <destination> <name> <component> [COPY] [VARIABLES <var>...])
# configures <template> at install time rather than at configure time, so
# that @PREFIX@, @BINDIR@ and @SYSCONFDIR@ are where the files really go:
# /usr, /usr/bin and /etc in a Debian package (cpack installs with the prefix
# /usr into a staging DESTDIR), the --prefix of `cmake --install` otherwise.
# <destination> is evaluated at install time (escape or bracket-quote it:
# [[${SYSCONFDIR}/default]]). The VARIABLES keep their configure-time values.
# COPY installs <template> as it is, only the destination is worked out then.
function(switchboard_install_configured template destination name component)
  cmake_parse_arguments(PARSE_ARGV 4 arg "COPY" "" "VARIABLES")
  set(_mode @ONLY)
  if(arg_COPY)
    set(_mode COPYONLY)
  endif()
  set(_forward "")
  foreach(_var IN LISTS arg_VARIABLES)
    string(APPEND _forward "set(${_var} [==[${${_var}}]==])\n")
  endforeach()
  install(CODE "
    set(PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    set(BINDIR \"\${PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    # GNU's and Debian's rule: the prefix /usr keeps its configuration in /etc.
    if(PREFIX STREQUAL \"/usr\")
      set(SYSCONFDIR /etc)
    else()
      set(SYSCONFDIR \"\${PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}\")
    endif()
    ${_forward}
    # One folder per destination: cpack and cmake --install may run at once.
    string(MD5 _key \"\$ENV{DESTDIR}\${PREFIX}\")
    set(_out \"${PROJECT_BINARY_DIR}/install-time/\${_key}/${name}\")
    configure_file(\"${template}\" \"\${_out}\" ${_mode})
    file(INSTALL DESTINATION \"${destination}\" TYPE FILE FILES \"\${_out}\")
  " COMPONENT ${component})
endfunction()

# One export set per component, so that find_package(Switchboard) with no
# components never needs Boost: the adapters' targets files are read only
# when their component is asked for.
install(TARGETS switchboard_core
  EXPORT SwitchboardTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libs NAMELINK_COMPONENT devel
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT libs)
install(EXPORT SwitchboardTargets NAMESPACE switchboard:: DESTINATION ${SWITCHBOARD_CMAKE_DIR} COMPONENT devel)

foreach(_comp beast websocketpp qt redis tokens testing peer)
  string(TOUPPER ${_comp} _up)
  if(TARGET switchboard_${_comp})
    set(SWITCHBOARD_${_up}_INSTALLED TRUE)
    install(TARGETS switchboard_${_comp}
      EXPORT Switchboard_${_comp}_Targets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libs NAMELINK_COMPONENT devel)
    install(EXPORT Switchboard_${_comp}_Targets NAMESPACE switchboard:: DESTINATION ${SWITCHBOARD_CMAKE_DIR}
      COMPONENT devel)
  else()
    set(SWITCHBOARD_${_up}_INSTALLED FALSE)
  endif()
endforeach()

install(DIRECTORY include/switchboard DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT devel)
install(FILES ${PROJECT_BINARY_DIR}/include/switchboard/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/switchboard COMPONENT devel)

configure_package_config_file(cmake/SwitchboardConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SwitchboardConfig.cmake
  INSTALL_DESTINATION ${SWITCHBOARD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SwitchboardConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/SwitchboardConfig.cmake
  ${PROJECT_BINARY_DIR}/SwitchboardConfigVersion.cmake
  DESTINATION ${SWITCHBOARD_CMAKE_DIR} COMPONENT devel)

# pkg-config: switchboard.pc for the core, switchboard-<component>.pc for each
# other component, next to the CMake package. Their dependencies use the
# names of Debian's own .pc files (nlohmann_json, fmt, openssl, libcrypto,
# hiredis, Qt5Core...); Boost and websocketpp have none, their headers are in /usr/include.
# A static library's private dependencies are needed at link time, so a
# static build lists them as public: `pkg-config --libs` is then enough.
set(_pc_core_requires "nlohmann_json >= 3.9")
set(_pc_core_private "fmt >= 8")
set(_pc_core_description "WebRTC signalling for C++ servers: the transport-agnostic core")
set(_pc_beast_requires "")
set(_pc_beast_private "openssl, fmt >= 8")
set(_pc_beast_cflags " -DBOOST_ASIO_NO_DEPRECATED -pthread")
set(_pc_beast_libs "-pthread")
set(_pc_beast_description "Switchboard's Boost.Beast adapter and listener (needs Boost headers)")
set(_pc_websocketpp_private "fmt >= 8")
set(_pc_websocketpp_cflags " -pthread")
set(_pc_websocketpp_libs "-pthread")
set(_pc_websocketpp_description "Switchboard's websocketpp adapter (needs websocketpp and Boost headers)")
if(TARGET switchboard_qt)
  set(_pc_qt_requires "Qt${SWITCHBOARD_QT_MAJOR}Core, Qt${SWITCHBOARD_QT_MAJOR}Network")
  set(_pc_qt_private "Qt${SWITCHBOARD_QT_MAJOR}WebSockets, fmt >= 8")
  if(SWITCHBOARD_QT_MAJOR EQUAL 5)
    set(_pc_qt_cflags " -fPIC")  # Qt 5 wants position-independent code (Qt5::Core adds it in CMake)
  endif()
  set(_pc_qt_description "Switchboard's Qt WebSockets adapter")
endif()
set(_pc_redis_private "hiredis, fmt >= 8")
set(_pc_redis_libs_private "-pthread")
set(_pc_redis_description "Switchboard's Redis cluster component")
set(_pc_tokens_private "libcrypto")
set(_pc_tokens_description "Switchboard's access tokens (HS256 JWT) and TURN REST credentials")
set(_pc_testing_private "fmt >= 8")
set(_pc_testing_libs_private "-pthread")
set(_pc_testing_description "Switchboard's adapter conformance kit")
set(_pc_peer_private "gstreamer-1.0, gstreamer-sdp-1.0, gstreamer-webrtc-1.0, nice, gio-2.0, fmt >= 8")
set(_pc_peer_libs_private "-pthread")
set(_pc_peer_description "Switchboard's host as a WebRTC peer (GStreamer webrtcbin)")

set(SWITCHBOARD_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
set(SWITCHBOARD_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
foreach(_comp core beast websocketpp qt redis tokens testing peer)
  if(NOT TARGET switchboard_${_comp})
    continue()
  endif()
  set(SWITCHBOARD_PC_TARGET switchboard::${_comp})
  if(_comp STREQUAL "core")
    set(SWITCHBOARD_PC_NAME switchboard)
    set(SWITCHBOARD_PC_REQUIRES "${_pc_core_requires}")
  else()
    set(SWITCHBOARD_PC_NAME switchboard-${_comp})
    set(SWITCHBOARD_PC_REQUIRES "switchboard = ${PROJECT_VERSION}")
    if(_pc_${_comp}_requires)
      string(APPEND SWITCHBOARD_PC_REQUIRES ", ${_pc_${_comp}_requires}")
    endif()
  endif()
  set(SWITCHBOARD_PC_DESCRIPTION "${_pc_${_comp}_description}")
  set(SWITCHBOARD_PC_REQUIRES_PRIVATE "${_pc_${_comp}_private}")
  get_target_property(_output_name switchboard_${_comp} OUTPUT_NAME)
  set(SWITCHBOARD_PC_LIBS "-l${_output_name}")
  if(_pc_${_comp}_libs)
    string(APPEND SWITCHBOARD_PC_LIBS " ${_pc_${_comp}_libs}")
  endif()
  set(SWITCHBOARD_PC_LIBS_PRIVATE "${_pc_${_comp}_libs_private}")
  set(SWITCHBOARD_PC_CFLAGS "${_pc_${_comp}_cflags}")
  get_target_property(_type switchboard_${_comp} TYPE)
  if(_type STREQUAL "STATIC_LIBRARY")
    foreach(_field REQUIRES LIBS)
      if(_field STREQUAL "REQUIRES")
        set(_private "${SWITCHBOARD_PC_REQUIRES_PRIVATE}")
        set(_separator ", ")
      else()
        set(_private "${SWITCHBOARD_PC_LIBS_PRIVATE}")
        set(_separator " ")
      endif()
      if(_private AND SWITCHBOARD_PC_${_field})
        string(APPEND SWITCHBOARD_PC_${_field} "${_separator}${_private}")
      elseif(_private)
        set(SWITCHBOARD_PC_${_field} "${_private}")
      endif()
    endforeach()
    set(SWITCHBOARD_PC_REQUIRES_PRIVATE "")
    set(SWITCHBOARD_PC_LIBS_PRIVATE "")
  endif()
  switchboard_install_configured(${PROJECT_SOURCE_DIR}/cmake/switchboard.pc.in
    "\${PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig" ${SWITCHBOARD_PC_NAME}.pc devel
    VARIABLES SWITCHBOARD_PC_TARGET SWITCHBOARD_PC_NAME SWITCHBOARD_PC_DESCRIPTION PROJECT_VERSION
              SWITCHBOARD_PC_LIBDIR SWITCHBOARD_PC_INCLUDEDIR SWITCHBOARD_PC_REQUIRES
              SWITCHBOARD_PC_REQUIRES_PRIVATE SWITCHBOARD_PC_LIBS SWITCHBOARD_PC_LIBS_PRIVATE SWITCHBOARD_PC_CFLAGS)
endforeach()

# Documentation in CMAKE_INSTALL_DOCDIR (share/doc/switchboard), laid out as in
# the source tree so that README.md's links work: docs/, examples/.
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT devel)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs COMPONENT devel)
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT devel)

# switchboard-server as a system service: a systemd unit and the file of its
# options, /etc/default/switchboard (packaging/debian/).
if(TARGET switchboard-server)
  switchboard_install_configured(${PROJECT_SOURCE_DIR}/packaging/debian/switchboard.service.in
    [[${PREFIX}/lib/systemd/system]] switchboard.service server)
  switchboard_install_configured(${PROJECT_SOURCE_DIR}/packaging/debian/switchboard.default
    [[${SYSCONFDIR}/default]] switchboard server COPY)
  # Debian wants every package's copyright in /usr/share/doc/<package>/.
  install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/switchboard-server RENAME copyright
    COMPONENT server)
endif()
