// Loads plugin shared objects by (kind, name) from the plugin directory and keeps them
// loaded. The descriptor is read and checked (ABI version, kind) before any plugin code
// runs; every refusal is one line naming the file, what was expected and what was found.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "paddock/sdk/plugin.hpp"

namespace boost::dll { class shared_library; }

namespace paddock::plugin {

// A plugin object together with the library that made it. The library outlives the object.
template <typename T>
class Loaded {
 public:
  Loaded() = default;
  Loaded(std::shared_ptr<boost::dll::shared_library> lib, const sdk::PluginDescriptor* desc,
         std::string file, std::unique_ptr<T> obj)
      : lib_(std::move(lib)), desc_(desc), file_(std::move(file)), obj_(std::move(obj)) {}
  Loaded(Loaded&&) noexcept = default;
  Loaded& operator=(Loaded&& other) noexcept {
    obj_ = std::move(other.obj_);  // the old object goes before its library
    desc_ = other.desc_;
    file_ = std::move(other.file_);
    lib_ = std::move(other.lib_);
    return *this;
  }
  ~Loaded() { obj_.reset(); }

  T* get() const { return obj_.get(); }
  T* operator->() const { return obj_.get(); }
  T& operator*() const { return *obj_; }
  explicit operator bool() const { return obj_ != nullptr; }
  const sdk::PluginDescriptor& descriptor() const { return *desc_; }
  const std::string& file() const { return file_; }

 private:
  std::shared_ptr<boost::dll::shared_library> lib_;
  const sdk::PluginDescriptor* desc_ = nullptr;
  std::string file_;
  std::unique_ptr<T> obj_;
};

// What a plugin file declares, read without creating anything.
struct Inspected {
  std::shared_ptr<boost::dll::shared_library> lib;
  const sdk::PluginDescriptor* descriptor = nullptr;
  std::string file;
};

class Loader {
 public:
  // `dir` is the plugin directory.
  explicit Loader(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  // <dir>/paddock-<kind>-<name>.so
  std::string file_for(sdk::PluginKind kind, const std::string& name) const;
  // Names of the plugins of a kind found in the directory (for "known: ..." hints).
  std::vector<std::string> available(sdk::PluginKind kind) const;

  // Opens the file and checks its descriptor against `kind`; nothing of the plugin runs.
  sdk::Result<Inspected> inspect(sdk::PluginKind kind, const std::string& name);
  // Same for an explicit file (tests, tools).
  sdk::Result<Inspected> inspect_file(sdk::PluginKind kind, const std::string& file);

  // Creates the plugin object of an inspected library.
  template <typename T>
  sdk::Result<Loaded<T>> create(const Inspected& lib) {
    auto obj = create_raw(lib);
    if (!obj) return obj.status();
    return Loaded<T>(lib.lib, lib.descriptor, lib.file,
                     std::unique_ptr<T>(static_cast<T*>(obj.value())));
  }

 private:
  sdk::Result<sdk::Plugin*> create_raw(const Inspected& lib);
  std::string dir_;
};

// The default plugin directory: <directory of the running binary>/../lib/paddock/plugins.
std::string default_plugin_dir();

}  // namespace paddock::plugin
