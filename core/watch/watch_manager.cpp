#include "watch/watch_manager.hpp"

#include <algorithm>

namespace paddock::watch {

namespace {

// The parent of "/a/b" is "/a"; of "/a" it is "/"; "/" has none.
bool parent_path(std::string_view& path) {
  if (path.size() <= 1) return false;
  size_t slash = path.rfind('/');
  path = slash == 0 ? path.substr(0, 1) : path.substr(0, slash);
  return true;
}

}  // namespace

void WatchManager::add(std::string_view path, Watcher* w, WatchMode mode) {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) it = by_path_.emplace(std::string(path), std::vector<Entry>{}).first;
  auto& list = it->second;
  auto pos = std::find_if(list.begin(), list.end(), [w](const Entry& e) { return e.watcher == w; });
  if (pos != list.end()) {
    if (pos->mode == WatchMode::kPersistentRecursive) --recursive_;
    if (mode == WatchMode::kPersistentRecursive) ++recursive_;
    pos->mode = mode;
    return;
  }
  list.push_back({w, mode});
  if (mode == WatchMode::kPersistentRecursive) ++recursive_;
  by_watcher_[w].emplace(path);
  ++count_;
}

void WatchManager::trigger(std::string_view path, EventType type, const std::vector<sdk::Acl>* acl,
                           std::vector<Watcher*>* fired, const std::vector<Watcher*>* suppress) {
  std::lock_guard lk(mu_);
  if (by_path_.empty()) return;
  std::vector<Watcher*> reached;
  auto reach = [&reached](Watcher* w) {
    if (std::find(reached.begin(), reached.end(), w) == reached.end()) reached.push_back(w);
  };
  std::string_view at = path;
  bool at_parent = false;
  for (;;) {
    auto it = by_path_.find(at);
    if (it != by_path_.end()) {
      auto& list = it->second;
      for (size_t i = 0; i < list.size();) {
        Entry& e = list[i];
        if (e.mode == WatchMode::kPersistentRecursive) {
          if (type != EventType::kNodeChildrenChanged) reach(e.watcher);
        } else if (!at_parent) {
          reach(e.watcher);
          if (e.mode == WatchMode::kStandard) {
            Watcher* w = e.watcher;
            list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
            --count_;
            auto wi = by_watcher_.find(w);
            if (wi != by_watcher_.end()) {
              auto pi = wi->second.find(at);
              if (pi != wi->second.end()) wi->second.erase(pi);
            }
            continue;
          }
        }
        ++i;
      }
      if (list.empty()) by_path_.erase(it);
    }
    // Ancestors matter only while someone watches recursively.
    if (recursive_ == 0 || !parent_path(at)) break;
    at_parent = true;
  }
  for (Watcher* w : reached) {
    if (fired) fired->push_back(w);
    if (suppress && std::find(suppress->begin(), suppress->end(), w) != suppress->end()) continue;
    if (acl && !w->may_read(*acl)) continue;
    w->process(type, path);
  }
}

bool WatchManager::contains(std::string_view path, Watcher* w) const {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [w](const Entry& e) { return e.watcher == w; });
}

bool WatchManager::remove(std::string_view path, Watcher* w) {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return false;
  auto& list = it->second;
  auto pos = std::find_if(list.begin(), list.end(), [w](const Entry& e) { return e.watcher == w; });
  if (pos == list.end()) return false;
  if (pos->mode == WatchMode::kPersistentRecursive) --recursive_;
  list.erase(pos);
  --count_;
  if (list.empty()) by_path_.erase(it);
  auto wi = by_watcher_.find(w);
  if (wi != by_watcher_.end()) {
    auto pi = wi->second.find(path);
    if (pi != wi->second.end()) wi->second.erase(pi);
  }
  return true;
}

void WatchManager::remove_watcher(Watcher* w) {
  std::lock_guard lk(mu_);
  auto wi = by_watcher_.find(w);
  if (wi == by_watcher_.end()) return;
  for (const auto& path : wi->second) {
    auto it = by_path_.find(path);
    if (it == by_path_.end()) continue;
    auto& list = it->second;
    auto pos = std::find_if(list.begin(), list.end(), [w](const Entry& e) { return e.watcher == w; });
    if (pos != list.end()) {
      if (pos->mode == WatchMode::kPersistentRecursive) --recursive_;
      list.erase(pos);
      --count_;
    }
    if (list.empty()) by_path_.erase(it);
  }
  by_watcher_.erase(wi);
}

size_t WatchManager::watch_count() const {
  std::lock_guard lk(mu_);
  return count_;
}

size_t WatchManager::recursive_count() const {
  std::lock_guard lk(mu_);
  return recursive_;
}

size_t WatchManager::path_count() const {
  std::lock_guard lk(mu_);
  return by_path_.size();
}

size_t WatchManager::watcher_count() const {
  std::lock_guard lk(mu_);
  return by_watcher_.size();
}

std::vector<std::pair<int64_t, std::vector<std::string>>> WatchManager::by_session() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<int64_t, std::vector<std::string>>> out;
  for (const auto& [w, paths] : by_watcher_) {
    out.emplace_back(w->watcher_session(), std::vector<std::string>(paths.begin(), paths.end()));
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> WatchManager::by_path() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& [path, list] : by_path_) {
    std::vector<int64_t> ids;
    for (const Entry& e : list) ids.push_back(e.watcher->watcher_session());
    out.emplace_back(path, std::move(ids));
  }
  return out;
}

}  // namespace paddock::watch
