# segdistill_add_plugin(NAME SOURCES...): a plugin library segdistill_NAME.so in the
# build tree's plugin folder, installed with the other plugins.
# Every in-tree plugin also joins segdistill_plugins, the target the scripts that train
# build (tools/lib/release_build.sh): a run needs plugins it never names (the losses, the
# schedules), so a hand-kept list of them goes stale.
add_custom_target(segdistill_plugins)

function(segdistill_add_plugin name)
  set(target segdistill_${name})
  add_library(${target} MODULE ${ARGN})
  add_dependencies(segdistill_plugins ${target})
  target_link_libraries(${target} PRIVATE segdistill::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY "${SEGDISTILL_BUILD_PLUGIN_DIR}")
  segdistill_warnings(${target})
  segdistill_use_torch_pch(${target})
  segdistill_batch_sources(${target})
  # Installed two folders below libsegdistill (LIBDIR/segdistill/plugins).
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
  install(TARGETS ${target} LIBRARY DESTINATION "${SEGDISTILL_INSTALL_PLUGIN_DIR}" COMPONENT runtime)
endfunction()
