include(CMakePackageConfigHelpers)

set(SWITCHBOARD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Switchboard)

install(TARGETS ${SWITCHBOARD_EXPORT_TARGETS}
  EXPORT SwitchboardTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/switchboard DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/switchboard/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/switchboard)
install(EXPORT SwitchboardTargets NAMESPACE switchboard:: DESTINATION ${SWITCHBOARD_CMAKE_DIR})

foreach(_comp beast websocketpp)
  string(TOUPPER ${_comp} _up)
  if(TARGET switchboard_${_comp})
    set(SWITCHBOARD_${_up}_INSTALLED TRUE)
  else()
    set(SWITCHBOARD_${_up}_INSTALLED FALSE)
  endif()
endforeach()

configure_package_config_file(cmake/SwitchboardConfig.cmake.in
  ${PROJECT_BINARY_DIR}/SwitchboardConfig.cmake
  INSTALL_DESTINATION ${SWITCHBOARD_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SwitchboardConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/SwitchboardConfig.cmake
  ${PROJECT_BINARY_DIR}/SwitchboardConfigVersion.cmake
  DESTINATION ${SWITCHBOARD_CMAKE_DIR})
install(FILES LICENSE README.md docs/protocol.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
