#include "plugin/loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

namespace paddock::plugin {

namespace fs = std::filesystem;

std::string default_plugin_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) exe = boost::dll::program_location().string();
  return (exe.parent_path().parent_path() / "lib" / "paddock" / "plugins").string();
}

std::string Loader::file_for(sdk::PluginKind kind, const std::string& name) const {
  return (fs::path(dir_) / ("paddock-" + std::string(sdk::plugin_kind_name(kind)) + "-" + name + ".so"))
      .string();
}

std::vector<std::string> Loader::available(sdk::PluginKind kind) const {
  std::vector<std::string> names;
  std::string prefix = "paddock-" + std::string(sdk::plugin_kind_name(kind)) + "-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string f = e.path().filename().string();
    if (f.rfind(prefix, 0) == 0 && f.size() > prefix.size() + 3 && f.ends_with(".so")) {
      names.push_back(f.substr(prefix.size(), f.size() - prefix.size() - 3));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

sdk::Result<Inspected> Loader::inspect(sdk::PluginKind kind, const std::string& name) {
  std::string file = file_for(kind, name);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    std::string known;
    for (const auto& n : available(kind)) known += (known.empty() ? "" : ", ") + n;
    return sdk::Status::error("unknown " + std::string(sdk::plugin_kind_name(kind)) + " plugin '" +
                              name + "': no file " + file + "; known: " +
                              (known.empty() ? "none" : known));
  }
  return inspect_file(kind, file);
}

namespace {
// Plugins are never unloaded while the process runs: objects they made (connections, for
// one) may outlive the plugin object itself. Every library opened stays referenced here.
void keep_loaded(std::shared_ptr<boost::dll::shared_library> lib) {
  static auto* libs = new std::vector<std::shared_ptr<boost::dll::shared_library>>();
  static std::mutex mu;
  std::lock_guard lk(mu);
  libs->push_back(std::move(lib));
}
}  // namespace

sdk::Result<Inspected> Loader::inspect_file(sdk::PluginKind kind, const std::string& file) {
  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  lib->load(file, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    // Ask dlopen again for its own text: it names the missing symbol or dependency.
    std::string why = ec.message();
    dlerror();
    if (void* h = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      dlclose(h);
    } else if (const char* e = dlerror()) {
      why = e;
    }
    return sdk::Status::error("cannot load plugin " + file + ": " + why);
  }
  if (!lib->has("paddock_plugin_descriptor") || !lib->has("paddock_plugin_create")) {
    return sdk::Status::error("plugin " + file +
                              ": not a Paddock plugin (expected symbols paddock_plugin_descriptor "
                              "and paddock_plugin_create)");
  }
  const auto& desc = lib->get_alias<const sdk::PluginDescriptor>("paddock_plugin_descriptor");
  if (desc.abi_version != sdk::kAbiVersion) {
    return sdk::Status::error("plugin " + file + ": SDK ABI version mismatch: expected " +
                              std::to_string(sdk::kAbiVersion) + ", found " +
                              std::to_string(desc.abi_version));
  }
  if (desc.kind != kind) {
    return sdk::Status::error("plugin " + file + ": wrong kind: expected " +
                              std::string(sdk::plugin_kind_name(kind)) + ", found " +
                              std::string(sdk::plugin_kind_name(desc.kind)));
  }
  keep_loaded(lib);
  return Inspected{std::move(lib), &desc, file};
}

sdk::Result<sdk::Plugin*> Loader::create_raw(const Inspected& lib) {
  auto& factory = lib.lib->get_alias<sdk::Plugin*()>("paddock_plugin_create");
  sdk::Plugin* obj = nullptr;
  try {
    obj = factory();
  } catch (...) {
    obj = nullptr;
  }
  if (!obj) {
    return sdk::Status::error("plugin " + lib.file + ": its factory failed to create an object");
  }
  return obj;
}

}  // namespace paddock::plugin
