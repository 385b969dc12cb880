# paddock_add_plugin(<target> KIND <kind> NAME <name> SOURCES <files...> [LIBS <libs...>])
# Builds plugins/<kind>-<name> as lib/paddock/plugins/paddock-<kind>-<name>.so, linked against
# the SDK only (plus the libraries it names).
function(paddock_add_plugin target)
  cmake_parse_arguments(P "" "KIND;NAME" "SOURCES;LIBS" ${ARGN})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE paddock::sdk ${P_LIBS})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "paddock-${P_KIND}-${P_NAME}"
    LIBRARY_OUTPUT_DIRECTORY ${PADDOCK_PLUGIN_OUTPUT_DIR})
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
endfunction()
