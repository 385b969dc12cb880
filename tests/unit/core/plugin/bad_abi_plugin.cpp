// A plugin that claims an SDK ABI version the core does not speak. Its factory must never run.
#include <cstdlib>

#include "paddock/sdk/transport.hpp"

namespace {

const paddock::sdk::PluginDescriptor descriptor{paddock::sdk::kAbiVersion + 998,
                                                paddock::sdk::PluginKind::kTransport,
                                                "tcp", "0.0.0", "test", nullptr, 0};

paddock::sdk::Plugin* create() { std::abort(); }

}  // namespace

BOOST_DLL_ALIAS(descriptor, paddock_plugin_descriptor)
BOOST_DLL_ALIAS(create, paddock_plugin_create)
