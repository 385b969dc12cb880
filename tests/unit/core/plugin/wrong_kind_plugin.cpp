// A plugin that declares itself a storage plugin; loading it as a transport must fail.
#include <cstdlib>

#include "paddock/sdk/storage.hpp"

namespace {

const paddock::sdk::PluginDescriptor descriptor{paddock::sdk::kAbiVersion,
                                                paddock::sdk::PluginKind::kStorage,
                                                "tcp", "0.0.0", "test", nullptr, 0};

paddock::sdk::Plugin* create() { std::abort(); }

}  // namespace

BOOST_DLL_ALIAS(descriptor, paddock_plugin_descriptor)
BOOST_DLL_ALIAS(create, paddock_plugin_create)
