// One table of watches (ZooKeeper keeps two: data/exists and children), keyed by path, with
// the reverse index needed to drop a connection's watches when it closes. A registration is
// one-shot (standard), persistent, or persistent-recursive (addWatch); ZooKeeper puts the
// persistent kinds in both tables.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "paddock/sdk/types.hpp"

namespace paddock::watch {

// Watcher.Event.EventType values the server sends.
enum class EventType : int32_t {
  kNone = -1,
  kNodeCreated = 1,
  kNodeDeleted = 2,
  kNodeDataChanged = 3,
  kNodeChildrenChanged = 4,
};

// How a registration behaves when it fires (ZooKeeper's WatcherMode; AddWatchRequest.mode 0
// is kPersistent, 1 kPersistentRecursive).
enum class WatchMode : uint8_t { kStandard, kPersistent, kPersistentRecursive };

// Something that receives watch events: a client connection. process() is called on the
// thread applying the transaction, while the data tree is locked; it must not block or call
// back into the watch manager.
class Watcher {
 public:
  virtual void process(EventType type, std::string_view path) = 0;
  virtual int64_t watcher_session() const = 0;
  // Whether this watcher may see an event about a node with `acl` (READ permission): events
  // it may not read are dropped, as ZooKeeper 3.8.4 (and Debian's 3.8.0) do.
  virtual bool may_read(const std::vector<sdk::Acl>& acl) const {
    (void)acl;
    return true;
  }

 protected:
  ~Watcher() = default;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace paddock::watch

#if defined(__GLIBCXX__)
// Have libstdc++'s hash tables keyed by StringHash keep each key's hash, as they do for
// std::hash<std::string>: lookups compare hashes before strings, rehashing does not re-hash.
template <>
struct std::__is_fast_hash<paddock::watch::StringHash> : std::false_type {};
#endif

namespace paddock::watch {

class WatchManager {
 public:
  // Registers `w` on `path`; registering twice is one registration, whose mode becomes the
  // latest one given (ZooKeeper's WatcherModeManager does the same).
  void add(std::string_view path, Watcher* w, WatchMode mode = WatchMode::kStandard);
  // Fires the watches an event at `path` reaches: those on `path` itself (standard ones are
  // removed) and recursive ones on its ancestors (never for NodeChildrenChanged). Each
  // watcher gets the event once, unless listed in `suppress` or (with `acl`) it may not read
  // the node. Appends every watcher reached to `fired` when given.
  void trigger(std::string_view path, EventType type, const std::vector<sdk::Acl>* acl = nullptr,
               std::vector<Watcher*>* fired = nullptr,
               const std::vector<Watcher*>* suppress = nullptr);
  bool contains(std::string_view path, Watcher* w) const;
  // Removes one registration; false if there was none.
  bool remove(std::string_view path, Watcher* w);
  // Drops every registration of `w` (its connection closed).
  void remove_watcher(Watcher* w);

  size_t watch_count() const;
  size_t recursive_count() const;
  size_t path_count() const;
  size_t watcher_count() const;
  // session id -> paths, and path -> session ids (for the wchc / wchp four-letter words).
  std::vector<std::pair<int64_t, std::vector<std::string>>> by_session() const;
  std::vector<std::pair<std::string, std::vector<int64_t>>> by_path() const;

 private:
  mutable std::mutex mu_;
  struct Entry {
    Watcher* watcher;
    WatchMode mode;
  };
  std::unordered_map<std::string, std::vector<Entry>, StringHash, std::equal_to<>> by_path_;
  // A watcher keeps its entry, even with no paths left, until remove_watcher(): ZooKeeper's
  // watch2Paths does the same, and wchs / wchc show it.
  std::unordered_map<Watcher*, std::unordered_set<std::string, StringHash, std::equal_to<>>>
      by_watcher_;
  size_t count_ = 0;
  size_t recursive_ = 0;  // registrations in kPersistentRecursive mode
};

}  // namespace paddock::watch

