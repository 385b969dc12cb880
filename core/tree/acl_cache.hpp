// Reference-counted ACL lists, as ZooKeeper keeps them: nodes hold a small integer that
// names their list, snapshots store the table once. -1 names OPEN_ACL_UNSAFE and is never
// stored. Not thread-safe: the data tree's lock guards it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "paddock/sdk/storage.hpp"
#include "paddock/sdk/types.hpp"

namespace paddock::tree {

// ACL lists are shared, immutable values: copying one is a reference-count increment.
using AclList = std::shared_ptr<const std::vector<sdk::Acl>>;

class AclCache {
 public:
  static constexpr int64_t kOpenAclUnsafeRef = -1;

  // The reference for `acls`, adding it if new; counts one more user.
  int64_t acquire(const std::vector<sdk::Acl>& acls);
  // Counts one more user of an existing reference (snapshot load); unknown refs are ignored.
  void add_usage(int64_t ref);
  // Counts one user less; the entry goes when nobody uses it.
  void release(int64_t ref);
  // The list a reference names; null if unknown.
  AclList lookup(int64_t ref) const;
  // Same, without taking a reference (valid while the entry lives).
  const std::vector<sdk::Acl>* find(int64_t ref) const;
  bool contains(int64_t ref) const { return ref == kOpenAclUnsafeRef || by_ref_.count(ref) != 0; }

  // Snapshot support: load an entry with no users yet; drop entries nobody uses.
  void load(int64_t ref, std::vector<sdk::Acl> acls);
  void purge_unused();
  std::vector<sdk::AclRecord> records() const;
  size_t size() const { return by_ref_.size(); }

 private:
  struct Entry {
    AclList acls;
    std::string key;
    int64_t users = 0;
  };
  static std::string key_of(const std::vector<sdk::Acl>& acls);
  std::unordered_map<int64_t, Entry> by_ref_;
  std::unordered_map<std::string, int64_t> by_key_;
  int64_t next_ref_ = 1;
  int64_t last_ref_ = 0;  // the reference acquire() returned last (most writes repeat it)
};

// OPEN_ACL_UNSAFE: [ALL, world:anyone].
const AclList& open_acl_unsafe();

}  // namespace paddock::tree
