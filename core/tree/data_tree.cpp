#include "tree/data_tree.hpp"

#include <zlib.h>

#include "tree/path.hpp"
#include "txn/txn.hpp"

namespace paddock::tree {

using sdk::OpCode;
using sdk::jute::Reader;
using sdk::jute::TxnHeader;
using watch::EventType;

namespace {

bool is_container(int64_t owner) { return owner == sdk::kContainerEphemeralOwner; }
// TTL nodes carry 0xFF in the top byte of ephemeralOwner (EphemeralType.TTL).
bool is_ttl(int64_t owner) {
  return (static_cast<uint64_t>(owner) & sdk::kTtlMask) == sdk::kTtlMask;
}

constexpr std::string_view kLimitNode = "zookeeper_limits";
constexpr std::string_view kStatNode = "zookeeper_stats";

// StatsTrack: "count=N,bytes=M[,countHardLimit=..,byteHardLimit=..]" ('=' pairs separated
// by ',' or ';'); a missing or empty value is -1.
struct StatsTrack {
  int64_t count = -1, bytes = -1, count_hard = -1, bytes_hard = -1;
};

StatsTrack parse_stats(std::string_view text) {
  StatsTrack t;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find_first_of(",;", i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view pair = text.substr(i, end - i);
    i = end + 1;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
    int64_t v = -1;
    if (!value.empty()) {
      try {
        v = std::stoll(std::string(value));
      } catch (...) {
        continue;
      }
    }
    if (key == "count") t.count = v;
    else if (key == "bytes") t.bytes = v;
    else if (key == "countHardLimit") t.count_hard = v;
    else if (key == "byteHardLimit") t.bytes_hard = v;
  }
  return t;
}

std::string quota_node(std::string_view quota_path, std::string_view which) {
  return std::string(kQuotaPath) + std::string(quota_path) + "/" + std::string(which);
}

}  // namespace

Stat client_stat(const Node& node) {
  const StatPersisted& s = node.stat;
  Stat out;
  out.czxid = s.czxid;
  out.mzxid = s.mzxid;
  out.ctime = s.ctime;
  out.mtime = s.mtime;
  out.version = s.version;
  out.aversion = s.aversion;
  out.pzxid = s.pzxid;
  auto num_children = static_cast<int32_t>(node.children.size());
  out.num_children = num_children;
  // Persisted cversion counts creations; clients see creations + deletions.
  out.cversion = s.cversion * 2 - num_children;
  out.data_length = static_cast<int32_t>(node.data.size());
  int64_t owner = s.ephemeral_owner;
  out.ephemeral_owner = (is_container(owner) || is_ttl(owner)) ? 0 : owner;
  return out;
}

DataTree::DataTree() { add_system_nodes(); }

uint64_t DataTree::node_digest(std::string_view path, const Node& node) {
  if (path.rfind("/zookeeper/", 0) == 0) return 0;  // quota and config nodes do not count
  if (path == "/") path = "";                        // the root is digested as ""
  unsigned char block[60];
  size_t at = 0;
  auto put = [&](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) block[at++] = static_cast<unsigned char>(v >> (8 * i));
  };
  const StatPersisted& s = node.stat;
  put(static_cast<uint64_t>(s.czxid), 8);
  put(static_cast<uint64_t>(s.mzxid), 8);
  put(static_cast<uint64_t>(s.pzxid), 8);
  put(static_cast<uint64_t>(s.ctime), 8);
  put(static_cast<uint64_t>(s.mtime), 8);
  put(static_cast<uint32_t>(s.version), 4);
  put(static_cast<uint32_t>(s.cversion), 4);
  put(static_cast<uint32_t>(s.aversion), 4);
  put(static_cast<uint64_t>(s.ephemeral_owner), 8);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(path.data()), static_cast<uInt>(path.size()));
  if (!node.data_null && !node.data.empty()) {
    crc = crc32(crc, reinterpret_cast<const Bytef*>(node.data.data()), static_cast<uInt>(node.data.size()));
  }
  crc = crc32(crc, block, sizeof block);
  return static_cast<uint64_t>(crc);
}

std::pair<Zxid, int64_t> DataTree::digest() const {
  std::shared_lock lk(mu_);
  return {last_processed_zxid_.load(), static_cast<int64_t>(digest_)};
}

void DataTree::add_system_nodes() {
  auto root = std::make_unique<Node>();
  root->children.insert("zookeeper");
  auto zk = std::make_unique<Node>();
  zk->children.insert("quota");
  zk->children.insert("config");
  auto quota = std::make_unique<Node>();
  auto config = std::make_unique<Node>();
  config->acl_ref = acls_.acquire({{sdk::perms::kRead, {"world", "anyone"}}});
  config->stat.aversion = -1;  // ZooKeeper sets its ACL with version -1 at start-up
  digest_add("/", *root);
  digest_add(kZookeeperPath, *zk);
  nodes_.emplace("/", std::move(root));
  nodes_.emplace(std::string(kZookeeperPath), std::move(zk));
  nodes_.emplace(std::string(kQuotaPath), std::move(quota));
  nodes_.emplace(std::string(kConfigPath), std::move(config));
  data_size_ = 1 + static_cast<int64_t>(kZookeeperPath.size() + kQuotaPath.size() + kConfigPath.size());
}

const Node* DataTree::find(std::string_view path) const {
  // ZooKeeper also files the root under "" (its parent-name of "/a"); reads of "" see it.
  if (path.empty()) path = "/";
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : it->second.get();
}

Node* DataTree::find_mut(std::string_view path) {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : it->second.get();
}

const std::vector<sdk::Acl>& DataTree::acl_of(const Node& node) const {
  static const std::vector<sdk::Acl> kNone;
  // The cache keeps the list alive while the caller holds the tree's lock.
  const std::vector<sdk::Acl>* acl = acls_.find(node.acl_ref);
  return acl ? *acl : kNone;
}

AclList DataTree::acl_list_of(const Node& node) const {
  static const AclList kNone = std::make_shared<const std::vector<sdk::Acl>>();
  AclList acl = acls_.lookup(node.acl_ref);
  return acl ? acl : kNone;
}

std::optional<DataTree::NodeInfo> DataTree::node_info(std::string_view path) const {
  std::shared_lock lk(mu_);
  const Node* n = find(path);
  if (!n) return std::nullopt;
  return NodeInfo{n->stat, static_cast<int32_t>(n->children.size()), acl_list_of(*n),
                  static_cast<int64_t>(n->data.size())};
}

std::vector<std::string> DataTree::ephemerals_of(sdk::SessionId session) const {
  std::shared_lock lk(mu_);
  auto it = ephemerals_.find(session);
  if (it == ephemerals_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::pair<sdk::SessionId, std::vector<std::string>>> DataTree::all_ephemerals() const {
  std::shared_lock lk(mu_);
  std::vector<std::pair<sdk::SessionId, std::vector<std::string>>> out;
  for (const auto& [s, paths] : ephemerals_) out.emplace_back(s, std::vector<std::string>(paths.begin(), paths.end()));
  return out;
}

int64_t DataTree::descendant_count(std::string_view path) const {
  std::shared_lock lk(mu_);
  const Node* start = find(path);
  if (!start) return -1;
  int64_t count = 0;
  std::vector<std::string> stack{std::string(path)};
  while (!stack.empty()) {
    std::string p = std::move(stack.back());
    stack.pop_back();
    const Node* n = find(p);
    if (!n) continue;
    for (const auto& c : n->children) {
      ++count;
      stack.push_back(p == "/" ? "/" + c : p + "/" + c);
    }
  }
  return count;
}

std::vector<std::string> DataTree::expiry_candidates(int64_t now_ms,
                                                    int64_t max_never_used_ms) const {
  std::shared_lock lk(mu_);
  std::vector<std::string> out;
  for (const auto& path : containers_) {
    const Node* n = find(path);
    if (!n || !n->children.empty()) continue;
    // cversion > 0: it had children once (a new container is not deleted before use).
    if (n->stat.cversion > 0 ||
        (max_never_used_ms != 0 && now_ms - n->stat.mtime > max_never_used_ms)) {
      out.push_back(path);
    }
  }
  for (const auto& path : ttls_) {
    const Node* n = find(path);
    if (!n || !n->children.empty()) continue;
    auto ttl = static_cast<int64_t>(static_cast<uint64_t>(n->stat.ephemeral_owner) & ~sdk::kTtlMask);
    if (ttl != 0 && now_ms - n->stat.mtime > ttl) out.push_back(path);
  }
  return out;
}

std::string DataTree::quota_prefix_locked(std::string_view path) const {
  if (quota_paths_.empty() || path.size() <= 1) return "";
  // Component by component, the longest quota'd prefix (ZooKeeper's PathTrie.findMaxPrefix).
  std::string best;
  size_t at = 0;
  while (at < path.size()) {
    size_t next = path.find('/', at + 1);
    if (next == std::string_view::npos) next = path.size();
    std::string_view prefix = path.substr(0, next);
    if (quota_paths_.count(prefix)) best.assign(prefix);
    at = next;
  }
  return best;
}

std::string DataTree::quota_prefix_of(std::string_view path) const {
  std::shared_lock lk(mu_);
  return quota_prefix_locked(path);
}

DataTree::QuotaVerdict DataTree::check_quota(std::string_view path, int64_t bytes_diff,
                                             int64_t count_diff) const {
  std::shared_lock lk(mu_);
  QuotaVerdict v;
  std::string prefix = quota_prefix_locked(path);
  if (prefix.empty()) return v;
  const Node* limit_node = find(quota_node(prefix, kLimitNode));
  if (!limit_node) return v;
  StatsTrack limits = parse_stats(limit_node->data);
  bool check_count = count_diff != 0 && (limits.count > -1 || limits.count_hard > -1);
  bool check_bytes = bytes_diff != 0 && (limits.bytes > -1 || limits.bytes_hard > -1);
  if (!check_count && !check_bytes) return v;
  const Node* stat_node = find(quota_node(prefix, kStatNode));
  if (!stat_node) return v;
  StatsTrack current = parse_stats(stat_node->data);
  v.quota_path = prefix;
  // ZooKeeper checks the hard limit when one is set, else the soft one.
  auto check = [&](std::string_view what, std::string_view limit_name, int64_t now, int64_t soft,
                   int64_t hard_limit) {
    bool hard = hard_limit > -1;
    int64_t limit = hard ? hard_limit : soft;
    if (now <= limit) return;
    v.messages.push_back("Quota exceeded: " + prefix + " [current " + std::string(what) + "=" +
                         std::to_string(now) + ", " + (hard ? "hard" : "soft") +
                         std::string(limit_name) + "=" + std::to_string(limit) + "]");
    v.hard = v.hard || hard;
  };
  if (check_count) {
    check("count", "CountLimit", current.count + count_diff, limits.count, limits.count_hard);
  }
  if (check_bytes) {
    check("bytes", "ByteLimit", current.bytes + bytes_diff, limits.bytes, limits.bytes_hard);
  }
  if (v.messages.empty()) v.quota_path.clear();
  return v;
}

void DataTree::update_quota_stat(const std::string& quota_path, int64_t bytes_diff,
                                 int64_t count_diff) {
  Node* n = find_mut(quota_node(quota_path, kStatNode));
  if (!n) return;
  StatsTrack t = parse_stats(n->data);
  std::string text = "count=" + std::to_string(t.count + count_diff) +
                     ",bytes=" + std::to_string(t.bytes + bytes_diff);
  data_size_ += static_cast<int64_t>(text.size()) - static_cast<int64_t>(n->data.size());
  n->data = std::move(text);
  n->data_null = false;
}

void DataTree::recount_quota(const std::string& quota_path) {
  Node* stat = find_mut(quota_node(quota_path, kStatNode));
  if (!stat) return;
  int64_t count = 0, bytes = 0;
  std::vector<std::string> stack{quota_path};
  while (!stack.empty()) {
    std::string p = std::move(stack.back());
    stack.pop_back();
    const Node* n = find(p);
    if (!n) continue;
    ++count;
    bytes += static_cast<int64_t>(n->data.size());
    for (const auto& c : n->children) stack.push_back(p == "/" ? "/" + c : p + "/" + c);
  }
  std::string text = "count=" + std::to_string(count) + ",bytes=" + std::to_string(bytes);
  data_size_ += static_cast<int64_t>(text.size()) - static_cast<int64_t>(stat->data.size());
  stat->data = std::move(text);
  stat->data_null = false;
}

void DataTree::on_quota_node_created(std::string_view path) {
  std::string_view parent = parent_of(path);
  if (!parent.starts_with(kQuotaPath) || parent.size() <= kQuotaPath.size()) return;
  std::string quota_path(parent.substr(kQuotaPath.size()));
  std::string_view name = basename_of(path);
  if (name == kLimitNode) quota_paths_.insert(quota_path);
  if (name == kStatNode) recount_quota(quota_path);
}

void DataTree::on_quota_node_deleted(std::string_view path) {
  std::string_view parent = parent_of(path);
  if (!parent.starts_with(kQuotaPath) || parent.size() <= kQuotaPath.size()) return;
  if (basename_of(path) == kLimitNode) {
    auto it = quota_paths_.find(parent.substr(kQuotaPath.size()));
    if (it != quota_paths_.end()) quota_paths_.erase(it);
  }
}

void DataTree::setup_quotas() {
  // Every zookeeper_limits node under /zookeeper/quota names a quota; recount its stats.
  quota_paths_.clear();
  std::string prefix = std::string(kQuotaPath) + "/";
  std::vector<std::string> found;
  for (const auto& [path, node] : nodes_) {
    if (path.starts_with(prefix) && basename_of(path) == kLimitNode) {
      std::string_view parent = parent_of(path);
      found.emplace_back(parent.substr(kQuotaPath.size()));
    }
  }
  for (auto& q : found) {
    quota_paths_.insert(q);
    recount_quota(q);
  }
}

size_t DataTree::node_count() const {
  std::shared_lock lk(mu_);
  return nodes_.size() + 1;
}

size_t DataTree::ephemeral_count() const {
  std::shared_lock lk(mu_);
  size_t n = 0;
  for (const auto& [s, paths] : ephemerals_) n += paths.size();
  return n;
}

int64_t DataTree::approximate_data_size() const {
  std::shared_lock lk(mu_);
  return data_size_;
}

Zxid DataTree::last_processed_zxid() const { return last_processed_zxid_.load(std::memory_order_acquire); }
void DataTree::set_last_processed_zxid(Zxid zxid) { last_processed_zxid_.store(zxid, std::memory_order_release); }

void DataTree::remove_watcher(watch::Watcher* w) {
  data_watches_.remove_watcher(w);
  child_watches_.remove_watcher(w);
}

// ---------------------------------------------------------------------------------------
// Applying transactions

TxnResult DataTree::process_txn(const TxnHeader& header, Reader& body, bool replay) {
  std::unique_lock lk(mu_);
  TxnResult rc = apply(header, header.type, body, replay);
  if (header.zxid > last_processed_zxid_.load(std::memory_order_relaxed)) {
    last_processed_zxid_.store(header.zxid, std::memory_order_release);
  }
  // The digest log behind `hash` (ZooKeeper's DIGEST_LOG_INTERVAL 128, DIGEST_LOG_LIMIT 1024).
  if (header.zxid % 128 == 0) {
    std::lock_guard log_lk(digest_log_mu_);
    digest_log_.push_back({header.zxid, static_cast<int64_t>(digest_)});
    if (digest_log_.size() > 1024) digest_log_.pop_front();
  }
  return rc;
}

std::vector<DataTree::ZxidDigest> DataTree::digest_log() const {
  std::lock_guard lk(digest_log_mu_);
  return {digest_log_.begin(), digest_log_.end()};
}

TxnResult DataTree::apply(const TxnHeader& h, int32_t type, Reader& body, bool replay) {
  TxnResult rc;
  rc.type = type;
  switch (static_cast<OpCode>(type)) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTtl: {
      txn::CreateTxn t;
      if (!txn::read_create(body, type, t)) { rc.err = ErrorCode::kMarshallingError; break; }
      rc.path = t.path;
      int64_t owner = 0;
      auto op = static_cast<OpCode>(type);
      if (op == OpCode::kCreateContainer) owner = sdk::kContainerEphemeralOwner;
      else if (op == OpCode::kCreateTtl) owner = static_cast<int64_t>(sdk::kTtlMask | static_cast<uint64_t>(t.ttl));
      else if (t.ephemeral) owner = h.client_id;
      rc.err = create_node(t.path, std::move(t.data), t.acl, owner, t.parent_cversion, h.zxid,
                           h.time, &rc.stat);
      if (rc.err == ErrorCode::kNodeExists && (op == OpCode::kCreate || replay)) {
        // A fuzzy snapshot may already hold this node: still raise the parent's cversion and
        // pzxid to what the txn says, and repair an ACL reference the snapshot missed.
        std::string_view parent_path = parent_of(t.path);
        if (Node* parent = find_mut(parent_path)) {
          if (t.parent_cversion > parent->stat.cversion) {
            digest_remove(parent_path, *parent);
            parent->stat.cversion = t.parent_cversion;
            parent->stat.pzxid = h.zxid;
            digest_add(parent_path, *parent);
          }
        }
        if (Node* n = find_mut(t.path); n && replay && !acls_.contains(n->acl_ref)) {
          n->acl_ref = acls_.acquire(t.acl);
        }
      }
      break;
    }
    case OpCode::kDelete:
    case OpCode::kDeleteContainer: {
      std::string path = body.read_string();
      if (!body.ok()) { rc.err = ErrorCode::kMarshallingError; break; }
      rc.path = path;
      rc.err = delete_node(path, h.zxid);
      break;
    }
    case OpCode::kSetData:
    case OpCode::kReconfig: {
      std::string path = body.read_string();
      auto data = body.read_optional_buffer();
      int32_t version = body.read_int();
      if (!body.ok()) { rc.err = ErrorCode::kMarshallingError; break; }
      rc.path = path;
      rc.err = set_data(path, std::move(data), version, h.zxid, h.time, &rc.stat);
      break;
    }
    case OpCode::kSetAcl: {
      std::string path = body.read_string();
      auto acl = sdk::jute::read_acl_list(body);
      int32_t version = body.read_int();
      if (!body.ok()) { rc.err = ErrorCode::kMarshallingError; break; }
      rc.path = path;
      rc.err = set_acl(path, acl, version, &rc.stat);
      break;
    }
    case OpCode::kCheck: {
      rc.path = body.read_string();
      break;
    }
    case OpCode::kCreateSession:
      break;
    case OpCode::kCloseSession: {
      std::vector<std::string> listed;
      // The body may be absent (older logs): then the session's ephemerals are deleted.
      if (body.remaining() >= 4) {
        int32_t n = body.read_count(4);
        for (int32_t i = 0; i < n && body.ok(); ++i) listed.push_back(body.read_string());
      }
      kill_session(h.client_id, listed, h.zxid);
      break;
    }
    case OpCode::kError: {
      rc.err = static_cast<ErrorCode>(body.read_int());
      break;
    }
    case OpCode::kMulti: {
      std::vector<txn::SubTxn> subs;
      if (!txn::read_multi(body, subs)) { rc.err = ErrorCode::kMarshallingError; break; }
      bool failed = false;
      for (const auto& s : subs) {
        if (s.type == static_cast<int32_t>(OpCode::kError)) { failed = true; break; }
      }
      bool post_failed = false;
      for (const auto& s : subs) {
        Reader sub(s.data);
        TxnResult r;
        if (failed) {
          r.type = static_cast<int32_t>(OpCode::kError);
          if (s.type == static_cast<int32_t>(OpCode::kError)) {
            r.err = static_cast<ErrorCode>(sub.read_int());
            post_failed = true;
          } else {
            r.err = post_failed ? ErrorCode::kRuntimeInconsistency : ErrorCode::kOk;
          }
        } else {
          r = apply(h, s.type, sub, replay);
        }
        if (r.err != ErrorCode::kOk && rc.err == ErrorCode::kOk) rc.err = r.err;
        rc.multi.push_back(std::move(r));
      }
      break;
    }
    default:
      rc.err = ErrorCode::kUnimplemented;
      break;
  }
  return rc;
}

ErrorCode DataTree::create_node(std::string_view path, std::optional<std::string> data,
                                const std::vector<sdk::Acl>& acl, int64_t ephemeral_owner,
                                int32_t parent_cversion, Zxid zxid, int64_t time, Stat* out) {
  std::string_view parent_path = parent_of(path);
  Node* parent = find_mut(parent_path);
  if (!parent || path.size() <= 1) return ErrorCode::kNoNode;
  std::string_view name = basename_of(path);
  if (parent->children.count(name)) return ErrorCode::kNodeExists;
  if (parent_cversion == -1) parent_cversion = parent->stat.cversion + 1;
  // Replaying over a fuzzy snapshot may meet a parent already past this create.
  if (parent_cversion > parent->stat.cversion) {
    digest_remove(parent_path, *parent);
    parent->stat.cversion = parent_cversion;
    parent->stat.pzxid = zxid;
    digest_add(parent_path, *parent);
  }
  auto node = std::make_unique<Node>();
  node->data_null = !data.has_value();
  if (data) node->data = std::move(*data);
  node->acl_ref = acls_.acquire(acl);
  StatPersisted& s = node->stat;
  s.czxid = s.mzxid = s.pzxid = zxid;
  s.ctime = s.mtime = time;
  s.ephemeral_owner = ephemeral_owner;
  parent->children.emplace(name);
  data_size_ += static_cast<int64_t>(path.size() + node->data.size());
  if (ephemeral_owner != 0) {
    if (is_container(ephemeral_owner)) containers_.emplace(path);
    else if (is_ttl(ephemeral_owner)) ttls_.emplace(path);
    else ephemerals_[ephemeral_owner].emplace(path);
  }
  if (out) *out = client_stat(*node);
  digest_add(path, *node);
  int64_t bytes = static_cast<int64_t>(node->data.size());
  nodes_.emplace(std::string(path), std::move(node));
  if (path.starts_with(kQuotaPath)) on_quota_node_created(path);
  if (!quota_paths_.empty()) {
    std::string prefix = quota_prefix_locked(path);
    if (!prefix.empty()) update_quota_stat(prefix, bytes, 1);
  }
  // Events are filtered by READ permission: the new node's ACL, and its parent's.
  data_watches_.trigger(path, EventType::kNodeCreated, &acl);
  child_watches_.trigger(parent_path, EventType::kNodeChildrenChanged, &acl_of(*parent));
  return ErrorCode::kOk;
}

ErrorCode DataTree::delete_node(std::string_view path, Zxid zxid) {
  auto it = nodes_.find(path);
  if (it == nodes_.end() || path == "/") return ErrorCode::kNoNode;
  std::string_view parent_path = parent_of(path);
  Node* parent = find_mut(parent_path);
  auto handle = nodes_.extract(it);
  std::string key = std::move(handle.key());
  std::unique_ptr<Node> node = std::move(handle.mapped());
  AclList node_acl = acl_list_of(*node);  // kept alive past the release, for the events
  acls_.release(node->acl_ref);
  data_size_ -= static_cast<int64_t>(key.size() + node->data.size());
  std::string_view p(key);
  digest_remove(p, *node);
  if (parent) {
    digest_remove(parent_path, *parent);
    auto ci = parent->children.find(basename_of(p));
    if (ci != parent->children.end()) parent->children.erase(ci);
    if (zxid > parent->stat.pzxid) parent->stat.pzxid = zxid;
    digest_add(parent_path, *parent);
  }
  int64_t owner = node->stat.ephemeral_owner;
  if (owner != 0) {
    if (is_container(owner)) {
      containers_.erase(key);
    } else if (is_ttl(owner)) {
      ttls_.erase(key);
    } else if (auto ei = ephemerals_.find(owner); ei != ephemerals_.end()) {
      ei->second.erase(key);
      if (ei->second.empty()) ephemerals_.erase(ei);
    }
  }
  if (p.starts_with(kQuotaPath)) on_quota_node_deleted(p);
  if (!quota_paths_.empty()) {
    std::string prefix = quota_prefix_locked(p);
    if (!prefix.empty()) update_quota_stat(prefix, -static_cast<int64_t>(node->data.size()), -1);
  }
  std::vector<watch::Watcher*> fired;
  data_watches_.trigger(p, EventType::kNodeDeleted, node_acl.get(), &fired);
  child_watches_.trigger(p, EventType::kNodeDeleted, node_acl.get(), nullptr, &fired);
  child_watches_.trigger(parent_path.empty() ? std::string_view("/") : parent_path,
                         EventType::kNodeChildrenChanged, parent ? &acl_of(*parent) : nullptr);
  return ErrorCode::kOk;
}

ErrorCode DataTree::set_data(std::string_view path, std::optional<std::string> data,
                             int32_t version, Zxid zxid, int64_t time, Stat* out) {
  Node* n = find_mut(path);
  if (!n) return ErrorCode::kNoNode;
  digest_remove(path, *n);
  int64_t old_bytes = static_cast<int64_t>(n->data.size());
  data_size_ -= static_cast<int64_t>(n->data.size());
  n->data_null = !data.has_value();
  n->data = data ? std::move(*data) : std::string();
  data_size_ += static_cast<int64_t>(n->data.size());
  n->stat.version = version;
  n->stat.mtime = time;
  n->stat.mzxid = zxid;
  digest_add(path, *n);
  if (out) *out = client_stat(*n);
  if (!quota_paths_.empty()) {
    std::string prefix = quota_prefix_locked(path);
    if (!prefix.empty()) {
      update_quota_stat(prefix, static_cast<int64_t>(n->data.size()) - old_bytes, 0);
    }
  }
  data_watches_.trigger(path, EventType::kNodeDataChanged, &acl_of(*n));
  return ErrorCode::kOk;
}

ErrorCode DataTree::set_acl(std::string_view path, const std::vector<sdk::Acl>& acl,
                            int32_t version, Stat* out) {
  Node* n = find_mut(path);
  if (!n) return ErrorCode::kNoNode;
  acls_.release(n->acl_ref);
  n->acl_ref = acls_.acquire(acl);
  digest_remove(path, *n);
  n->stat.aversion = version;
  digest_add(path, *n);
  if (out) *out = client_stat(*n);
  return ErrorCode::kOk;
}

void DataTree::kill_session(sdk::SessionId session, const std::vector<std::string>& listed,
                            Zxid zxid) {
  std::set<std::string> paths(listed.begin(), listed.end());
  if (auto it = ephemerals_.find(session); it != ephemerals_.end()) {
    paths.insert(it->second.begin(), it->second.end());
  }
  for (const auto& p : paths) {
    const Node* n = find(p);
    if (n && n->stat.ephemeral_owner == session) delete_node(p, zxid);
  }
  ephemerals_.erase(session);
}

// ---------------------------------------------------------------------------------------
// Snapshots

sdk::Status DataTree::serialize(sdk::SnapshotWriter& writer) const {
  {
    std::vector<sdk::AclRecord> acls;
    {
      std::shared_lock lk(mu_);
      acls = acls_.records();
    }
    if (auto st = writer.write_acls(acls); !st) return st;
  }
  // Depth-first pre-order. The lock is held for a small batch of nodes at a time, so the
  // sync thread keeps applying writes while the snapshot is taken (a "fuzzy" snapshot, as
  // ZooKeeper's; replaying the log from the snapshot's zxid repairs what it missed).
  struct Copied {
    std::string path;
    std::string data;
    bool data_null;
    int64_t acl_ref;
    StatPersisted stat;
  };
  constexpr size_t kBatchNodes = 256;
  constexpr size_t kBatchBytes = 256 * 1024;
  std::vector<std::string> stack{"/"};
  std::vector<Copied> batch;
  std::vector<std::string> children;
  while (!stack.empty()) {
    batch.clear();
    {
      std::shared_lock lk(mu_);
      size_t bytes = 0;
      while (!stack.empty() && batch.size() < kBatchNodes && bytes < kBatchBytes) {
        std::string path = std::move(stack.back());
        stack.pop_back();
        const Node* n = find(path);
        if (!n) continue;  // deleted since its parent was written
        bytes += n->data.size();
        children.assign(n->children.begin(), n->children.end());
        for (auto it = children.rbegin(); it != children.rend(); ++it) {
          stack.push_back(path == "/" ? "/" + *it : path + "/" + *it);
        }
        batch.push_back({std::move(path), n->data, n->data_null, n->acl_ref, n->stat});
      }
    }
    for (const auto& c : batch) {
      sdk::NodeRecord rec;
      rec.path = c.path == "/" ? std::string_view() : std::string_view(c.path);
      rec.data = c.data;
      rec.data_null = c.data_null;
      rec.acl_ref = c.acl_ref;
      rec.stat = c.stat;
      if (auto st = writer.write_node(rec); !st) return st;
    }
  }
  return sdk::Status::ok();
}

void DataTree::clear_locked() {
  nodes_.clear();
  acls_ = AclCache();
  ephemerals_.clear();
  containers_.clear();
  ttls_.clear();
  quota_paths_.clear();
  data_size_ = 0;
  digest_ = 0;
}

std::unique_ptr<DataTree::Loader> DataTree::begin_load() {
  std::unique_lock lk(mu_);
  clear_locked();
  return std::make_unique<Loader>(*this);
}

void DataTree::reset() {
  std::unique_lock lk(mu_);
  clear_locked();
  add_system_nodes();
}

DataTree::Loader::Loader(DataTree& tree) : tree_(tree) {}

sdk::Status DataTree::Loader::on_session(const sdk::SessionRecord& session) {
  sessions_.push_back(session);
  return sdk::Status::ok();
}

sdk::Status DataTree::Loader::on_acl(const sdk::AclRecord& acl) {
  tree_.acls_.load(acl.ref, acl.acls);
  return sdk::Status::ok();
}

sdk::Status DataTree::Loader::on_node(const sdk::NodeRecord& rec) {
  std::string path = rec.path.empty() ? std::string("/") : std::string(rec.path);
  auto node = std::make_unique<Node>();
  node->data_null = rec.data_null;
  node->data.assign(rec.data);
  node->acl_ref = rec.acl_ref;
  node->stat = rec.stat;
  tree_.acls_.add_usage(rec.acl_ref);
  tree_.data_size_ += static_cast<int64_t>((path == "/" ? 0 : path.size()) + node->data.size());
  if (path == "/") {
    saw_root_ = true;
  } else {
    Node* parent = tree_.find_mut(parent_of(path));
    if (!parent) {
      return sdk::Status::error("snapshot holds node " + path + " before its parent");
    }
    parent->children.emplace(basename_of(path));
    int64_t owner = rec.stat.ephemeral_owner;
    if (owner != 0) {
      if (is_container(owner)) tree_.containers_.emplace(path);
      else if (is_ttl(owner)) tree_.ttls_.emplace(path);
      else tree_.ephemerals_[owner].emplace(path);
    }
  }
  tree_.digest_add(path, *node);
  tree_.nodes_.insert_or_assign(std::move(path), std::move(node));
  return sdk::Status::ok();
}

sdk::Status DataTree::Loader::on_digest(const sdk::SnapshotDigest&) { return sdk::Status::ok(); }

sdk::Status DataTree::Loader::finish() {
  if (!saw_root_) return sdk::Status::error("snapshot has no root node");
  // A snapshot always carries the system nodes; recreate them if an old one lacks some.
  for (std::string_view p : {kZookeeperPath, kQuotaPath, kConfigPath}) {
    if (!tree_.find(p)) {
      Node* parent = tree_.find_mut(parent_of(p));
      if (!parent) continue;
      parent->children.emplace(basename_of(p));
      auto n = std::make_unique<Node>();
      if (p == kConfigPath) {
        n->acl_ref = tree_.acls_.acquire({{sdk::perms::kRead, {"world", "anyone"}}});
        n->stat.aversion = -1;
      }
      tree_.digest_add(p, *n);
      tree_.nodes_.emplace(std::string(p), std::move(n));
    }
  }
  tree_.acls_.purge_unused();
  tree_.setup_quotas();
  return sdk::Status::ok();
}

}  // namespace paddock::tree
