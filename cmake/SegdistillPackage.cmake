# The installed CMake package: find_package(segdistill) gives segdistill::sdk and
# segdistill_add_plugin() to out-of-tree plugin projects.
include(CMakePackageConfigHelpers)
install(EXPORT segdistillTargets NAMESPACE segdistill:: DESTINATION "${SEGDISTILL_INSTALL_CMAKE_DIR}" COMPONENT development)
configure_package_config_file(cmake/segdistillConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/segdistillConfig.cmake"
  INSTALL_DESTINATION "${SEGDISTILL_INSTALL_CMAKE_DIR}"
  PATH_VARS SEGDISTILL_INSTALL_PLUGIN_DIR)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/segdistillConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/segdistillConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/segdistillConfigVersion.cmake"
  DESTINATION "${SEGDISTILL_INSTALL_CMAKE_DIR}" COMPONENT development)
