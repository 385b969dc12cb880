# paddock_add_plugin(<target> KIND <kind> NAME <name> SOURCES <files...>
#                    [LIBS <libs...>] [INSTALL_DIR <dir>])
#
# Builds one Paddock plugin: a shared object named paddock-<kind>-<name>.so (the name the
# server's loader looks for), linked against the SDK (Paddock::sdk) and the libraries given,
# with hidden visibility so that only the two aliases PADDOCK_PLUGIN declares are exported,
# and installed to <prefix>/<INSTALL_DIR> (default lib/paddock/plugins: the directory the
# server looks in, relative to its bin/, when the prefix is the server's own).
#
# The same file serves Paddock's own build (plugins/<kind>-<name>/) and, installed beside
# PaddockConfig.cmake, plugins built out of tree after find_package(Paddock).
include_guard(GLOBAL)

set(PADDOCK_PLUGIN_KINDS election transport storage processor role auth)
if(NOT DEFINED PADDOCK_PLUGIN_INSTALL_DIR)
  set(PADDOCK_PLUGIN_INSTALL_DIR "lib/paddock/plugins")
endif()

function(paddock_add_plugin target)
  cmake_parse_arguments(P "" "KIND;NAME;INSTALL_DIR" "SOURCES;LIBS" ${ARGN})
  if(NOT P_KIND IN_LIST PADDOCK_PLUGIN_KINDS)
    message(FATAL_ERROR "paddock_add_plugin(${target}): KIND must be one of "
                        "${PADDOCK_PLUGIN_KINDS}, found '${P_KIND}'")
  endif()
  if(NOT P_NAME MATCHES "^[A-Za-z0-9_.-]+$")
    message(FATAL_ERROR "paddock_add_plugin(${target}): NAME must be a plain name "
                        "(letters, digits, '_', '.', '-'), found '${P_NAME}'")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "paddock_add_plugin(${target}): SOURCES is empty")
  endif()
  if(NOT P_INSTALL_DIR)
    set(P_INSTALL_DIR "${PADDOCK_PLUGIN_INSTALL_DIR}")
  endif()

  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE Paddock::sdk ${P_LIBS})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    OUTPUT_NAME "paddock-${P_KIND}-${P_NAME}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Paddock's own build puts every plugin beside the server, as installed.
  if(PADDOCK_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PADDOCK_PLUGIN_OUTPUT_DIR})
  endif()
  # A symbol the plugin forgot to link fails the build, not the server's start-up.
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  # OPTIONAL: a build of some targets only (cmake --build --target ...) still installs.
  install(TARGETS ${target} LIBRARY DESTINATION "${P_INSTALL_DIR}" OPTIONAL)
endfunction()
