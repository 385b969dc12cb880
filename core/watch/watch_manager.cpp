#include "watch/watch_manager.hpp"

#include <algorithm>

namespace paddock::watch {

void WatchManager::add(std::string_view path, Watcher* w) {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) it = by_path_.emplace(std::string(path), std::vector<Watcher*>{}).first;
  auto& list = it->second;
  if (std::find(list.begin(), list.end(), w) != list.end()) return;
  list.push_back(w);
  by_watcher_[w].emplace(path);
  ++count_;
}

void WatchManager::trigger(std::string_view path, EventType type, std::vector<Watcher*>* fired,
                           const std::vector<Watcher*>* suppress) {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  std::vector<Watcher*> list = std::move(it->second);
  by_path_.erase(it);
  count_ -= list.size();
  for (Watcher* w : list) {
    auto wi = by_watcher_.find(w);
    if (wi != by_watcher_.end()) {
      auto pi = wi->second.find(path);
      if (pi != wi->second.end()) wi->second.erase(pi);
      if (wi->second.empty()) by_watcher_.erase(wi);
    }
    if (suppress && std::find(suppress->begin(), suppress->end(), w) != suppress->end()) continue;
    w->process(type, path);
    if (fired) fired->push_back(w);
  }
}

bool WatchManager::contains(std::string_view path, Watcher* w) const {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return false;
  return std::find(it->second.begin(), it->second.end(), w) != it->second.end();
}

bool WatchManager::remove(std::string_view path, Watcher* w) {
  std::lock_guard lk(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return false;
  auto& list = it->second;
  auto pos = std::find(list.begin(), list.end(), w);
  if (pos == list.end()) return false;
  list.erase(pos);
  --count_;
  if (list.empty()) by_path_.erase(it);
  auto wi = by_watcher_.find(w);
  if (wi != by_watcher_.end()) {
    auto pi = wi->second.find(path);
    if (pi != wi->second.end()) wi->second.erase(pi);
    if (wi->second.empty()) by_watcher_.erase(wi);
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
    auto pos = std::find(list.begin(), list.end(), w);
    if (pos != list.end()) {
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
    for (Watcher* w : list) ids.push_back(w->watcher_session());
    out.emplace_back(path, std::move(ids));
  }
  return out;
}

}  // namespace paddock::watch
