include(CMakePackageConfigHelpers)

set(SWITCHBOARD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Switchboard)

# One export set per component, so that find_package(Switchboard) with no
# components never needs Boost: the adapters' targets files are read only
# when their component is asked for.
install(TARGETS switchboard_core
  EXPORT SwitchboardTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT SwitchboardTargets NAMESPACE switchboard:: DESTINATION ${SWITCHBOARD_CMAKE_DIR})

foreach(_comp beast websocketpp redis tokens testing)
  string(TOUPPER ${_comp} _up)
  if(TARGET switchboard_${_comp})
    set(SWITCHBOARD_${_up}_INSTALLED TRUE)
    install(TARGETS switchboard_${_comp}
      EXPORT Switchboard_${_comp}_Targets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(EXPORT Switchboard_${_comp}_Targets NAMESPACE switchboard:: DESTINATION ${SWITCHBOARD_CMAKE_DIR})
  else()
    set(SWITCHBOARD_${_up}_INSTALLED FALSE)
  endif()
endforeach()

install(DIRECTORY include/switchboard DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/switchboard/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/switchboard)

configure_package_config_file(cmake/SwitchboardConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SwitchboardConfig.cmake
  INSTALL_DESTINATION ${SWITCHBOARD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SwitchboardConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/SwitchboardConfig.cmake
  ${PROJECT_BINARY_DIR}/SwitchboardConfigVersion.cmake
  DESTINATION ${SWITCHBOARD_CMAKE_DIR})
install(FILES LICENSE README.md docs/protocol.md docs/adapters.md docs/cluster.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
