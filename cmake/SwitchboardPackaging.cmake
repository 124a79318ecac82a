# Debian packages with CPack, one per install component (cmake/SwitchboardInstall.cmake):
#   libswitchboard-dev   headers, libraries, CMake and pkg-config files, docs and examples
#   libswitchboard0      the shared libraries (a BUILD_SHARED_LIBS build only)
#   switchboard-server   the server, its web files, a systemd unit and /etc/default/switchboard
# Build them in the build tree with `cpack -G DEB`. Runtime dependencies come
# from dpkg-shlibdeps (package dpkg-dev; cpack also needs `file`), so build on
# the Debian release the packages are for.
set(SWITCHBOARD_PACKAGE_MAINTAINER "Switchboard maintainers"
  CACHE STRING "The Maintainer field of the Debian packages")

set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VENDOR Switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Each package's Description starts with its own summary line (CPACK_COMPONENT_<C>_DESCRIPTION);
# CPack prepends the project's summary to it unless that is CPack's default one.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # executables and shared libraries; CMake never strips a static library

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # <package>_<version>-<release>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SWITCHBOARD_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)  # CPACK_COMPONENT_<C>_DEPENDS become Depends with the exact version

get_target_property(_switchboard_core_type switchboard_core TYPE)
set(CPACK_COMPONENTS_ALL devel)
if(_switchboard_core_type STREQUAL "SHARED_LIBRARY")
  list(APPEND CPACK_COMPONENTS_ALL libs)
  set(CPACK_COMPONENT_DEVEL_DEPENDS libs)
  set(CPACK_DEBIAN_LIBS_PACKAGE_NAME libswitchboard${PROJECT_VERSION_MAJOR})
  set(CPACK_DEBIAN_LIBS_PACKAGE_SECTION libs)
  set(CPACK_COMPONENT_LIBS_DESCRIPTION "WebRTC signalling for C++ servers: shared libraries
Switchboard's core (users, rooms, validation, routing, limits) and its
adapters and components, as shared libraries.")
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  # dpkg-shlibdeps runs in each package's staging folder: it finds
  # libswitchboard*.so.N in the libs package's, next to it. The Depends on
  # libswitchboardN comes from CPACK_COMPONENT_<C>_DEPENDS.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ../libs${CPACK_PACKAGING_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR})
endif()
if(TARGET switchboard-server)
  list(APPEND CPACK_COMPONENTS_ALL server)
  if(_switchboard_core_type STREQUAL "SHARED_LIBRARY")
    set(CPACK_COMPONENT_SERVER_DEPENDS libs)
  endif()
endif()

set(CPACK_DEBIAN_DEVEL_PACKAGE_NAME libswitchboard-dev)
set(CPACK_DEBIAN_DEVEL_PACKAGE_SECTION libdevel)
# What the core's headers and CMake/pkg-config files need; the adapters'
# dependencies only for the components that use them.
set(CPACK_DEBIAN_DEVEL_PACKAGE_DEPENDS "nlohmann-json3-dev (>= 3.9), libfmt-dev (>= 8)")
set(CPACK_DEBIAN_DEVEL_PACKAGE_RECOMMENDS "libboost-dev (>= 1.74), libssl-dev, libhiredis-dev, pkg-config")
set(CPACK_DEBIAN_DEVEL_PACKAGE_SUGGESTS "libwebsocketpp-dev")
if(TARGET switchboard_qt)
  if(SWITCHBOARD_QT_MAJOR EQUAL 5)
    string(APPEND CPACK_DEBIAN_DEVEL_PACKAGE_SUGGESTS ", libqt5websockets5-dev")
  else()
    string(APPEND CPACK_DEBIAN_DEVEL_PACKAGE_SUGGESTS ", qt6-websockets-dev")
  endif()
endif()
set(CPACK_COMPONENT_DEVEL_DESCRIPTION "WebRTC signalling for C++ servers: development files
Switchboard passes browsers' session descriptions and ICE candidates to
each other, as a library linked into your own server: the
transport-agnostic core (switchboard::core, pkg-config switchboard) and its
Boost.Beast, websocketpp and Qt adapters, Redis cluster, access tokens and
adapter conformance kit. Headers, libraries, CMake package
(find_package(Switchboard)), pkg-config files, documentation and examples.")

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME switchboard-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION net)
if(TARGET switchboard_peer)
  # --host-peer loads GStreamer's webrtcbin and libnice's element as plugins:
  # dpkg-shlibdeps sees the libraries, not the plugins.
  set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "gstreamer1.0-plugins-bad, gstreamer1.0-nice")
  string(APPEND CPACK_DEBIAN_DEVEL_PACKAGE_SUGGESTS ", libgstreamer-plugins-bad1.0-dev, libnice-dev")
endif()
set(CPACK_COMPONENT_SERVER_DESCRIPTION "WebRTC signalling server with a chat page
switchboard-server passes WebRTC session descriptions and ICE candidates
between browsers over WebSocket, with rooms, access tokens, STUN/TURN
credentials, an admin API, /healthz and /metrics, and a Redis cluster.
It serves a multi-user chat page. A systemd unit runs it as an
unprivileged dynamic user with its options in /etc/default/switchboard;
it is not enabled on installation.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
