#include "tree/acl_cache.hpp"

#include "paddock/sdk/jute.hpp"

namespace paddock::tree {

const AclList& open_acl_unsafe() {
  static const AclList acl = std::make_shared<const std::vector<sdk::Acl>>(
      std::vector<sdk::Acl>{{sdk::perms::kAll, {"world", "anyone"}}});
  return acl;
}

std::string AclCache::key_of(const std::vector<sdk::Acl>& acls) {
  std::string key;
  sdk::jute::Writer w(key);
  sdk::jute::write_acl_list(w, acls);
  return key;
}

int64_t AclCache::acquire(const std::vector<sdk::Acl>& acls) {
  if (auto last = by_ref_.find(last_ref_); last != by_ref_.end() && *last->second.acls == acls) {
    ++last->second.users;
    return last_ref_;
  }
  std::string key = key_of(acls);
  auto it = by_key_.find(key);
  int64_t ref;
  if (it != by_key_.end()) {
    ref = it->second;
  } else {
    ref = next_ref_++;
    by_key_.emplace(key, ref);
    by_ref_.emplace(ref, Entry{std::make_shared<const std::vector<sdk::Acl>>(acls), std::move(key), 0});
  }
  ++by_ref_[ref].users;
  last_ref_ = ref;
  return ref;
}

void AclCache::add_usage(int64_t ref) {
  auto it = by_ref_.find(ref);
  if (it != by_ref_.end()) ++it->second.users;
}

void AclCache::release(int64_t ref) {
  auto it = by_ref_.find(ref);
  if (it == by_ref_.end()) return;
  if (--it->second.users <= 0) {
    by_key_.erase(it->second.key);
    by_ref_.erase(it);
  }
}

AclList AclCache::lookup(int64_t ref) const {
  if (ref == kOpenAclUnsafeRef) return open_acl_unsafe();
  auto it = by_ref_.find(ref);
  return it == by_ref_.end() ? nullptr : it->second.acls;
}

const std::vector<sdk::Acl>* AclCache::find(int64_t ref) const {
  if (ref == kOpenAclUnsafeRef) return open_acl_unsafe().get();
  auto it = by_ref_.find(ref);
  return it == by_ref_.end() ? nullptr : it->second.acls.get();
}

void AclCache::load(int64_t ref, std::vector<sdk::Acl> acls) {
  std::string key = key_of(acls);
  by_key_[key] = ref;
  by_ref_[ref] = Entry{std::make_shared<const std::vector<sdk::Acl>>(std::move(acls)), std::move(key), 0};
  if (ref >= next_ref_) next_ref_ = ref + 1;
}

void AclCache::purge_unused() {
  for (auto it = by_ref_.begin(); it != by_ref_.end();) {
    if (it->second.users <= 0) {
      by_key_.erase(it->second.key);
      it = by_ref_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<sdk::AclRecord> AclCache::records() const {
  std::vector<sdk::AclRecord> out;
  out.reserve(by_ref_.size());
  for (const auto& [ref, e] : by_ref_) out.push_back({ref, *e.acls});
  return out;
}

}  // namespace paddock::tree
