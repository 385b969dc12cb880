#include "zk_client.hpp"

#include <zookeeper/zookeeper.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "paddock/sdk/jute.hpp"

namespace paddock::cli {
namespace {

constexpr size_t kInitialDataBuffer = 1u << 20;  // ZooKeeper's default jute.maxbuffer
constexpr int kSequenceSuffix = 16;              // "%010d" and a margin

void watcher_trampoline(zhandle_t*, int type, int state, const char* path, void* ctx) {
  static_cast<ZkClient*>(ctx)->on_watcher(type, state, path);
}

NodeStat to_node_stat(const Stat& s) {
  NodeStat n;
  n.czxid = s.czxid;
  n.mzxid = s.mzxid;
  n.ctime = s.ctime;
  n.mtime = s.mtime;
  n.version = s.version;
  n.cversion = s.cversion;
  n.aversion = s.aversion;
  n.ephemeral_owner = s.ephemeralOwner;
  n.data_length = s.dataLength;
  n.num_children = s.numChildren;
  n.pzxid = s.pzxid;
  return n;
}

// The C client takes non-const char pointers in its ACL records; it only reads them.
struct CAclVector {
  explicit CAclVector(const std::vector<AclEntry>& acl) {
    entries.reserve(acl.size());
    for (const auto& a : acl) {
      ACL c{};
      c.perms = a.perms;
      c.id.scheme = const_cast<char*>(a.scheme.c_str());
      c.id.id = const_cast<char*>(a.id.c_str());
      entries.push_back(c);
    }
    vec.count = static_cast<int32_t>(entries.size());
    vec.data = entries.empty() ? nullptr : entries.data();
  }
  std::vector<ACL> entries;
  ACL_vector vec{};
};

// The result of an asynchronous C-client call, shared with its completion so that a caller
// that stopped waiting leaves nothing dangling.
struct AsyncResult {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
};

void complete(std::shared_ptr<AsyncResult>* holder, int rc) {
  std::unique_ptr<std::shared_ptr<AsyncResult>> own(holder);
  auto& r = **own;
  std::lock_guard lk(r.mu);
  r.done = true;
  r.rc = rc;
  r.cv.notify_all();
}

void void_done(int rc, const void* data) {
  complete(static_cast<std::shared_ptr<AsyncResult>*>(const_cast<void*>(data)), rc);
}

void string_done(int rc, const char*, const void* data) {
  complete(static_cast<std::shared_ptr<AsyncResult>*>(const_cast<void*>(data)), rc);
}

// Starts an asynchronous call through `start(holder)` and waits for it, at most `within`.
template <typename Start>
int await(Start start, std::chrono::milliseconds within) {
  auto result = std::make_shared<AsyncResult>();
  auto* holder = new std::shared_ptr<AsyncResult>(result);
  int rc = start(holder);
  if (rc != ZOK) {
    delete holder;  // the C client did not take the call, so it will never complete
    return rc;
  }
  std::unique_lock lk(result->mu);
  if (!result->cv.wait_for(lk, within, [&] { return result->done; })) return ZOPERATIONTIMEOUT;
  return result->rc;
}

}  // namespace

ZkClient::ZkClient(EventHandler on_event, NoticeHandler on_notice)
    : on_event_(std::move(on_event)), on_notice_(std::move(on_notice)) {
  // The C client logs connection chatter to stderr; PADDOCK_CLI_LOG=error|warn|info|debug
  // turns it back on for debugging.
  const char* level = std::getenv("PADDOCK_CLI_LOG");
  ZooLogLevel l = static_cast<ZooLogLevel>(0);
  if (level) {
    std::string v(level);
    if (v == "error") l = ZOO_LOG_LEVEL_ERROR;
    if (v == "warn") l = ZOO_LOG_LEVEL_WARN;
    if (v == "info") l = ZOO_LOG_LEVEL_INFO;
    if (v == "debug") l = ZOO_LOG_LEVEL_DEBUG;
  }
  zoo_set_debug_level(l);
}

ZkClient::~ZkClient() { close(); }

int ZkClient::open(const std::string& hosts, int timeout_ms, bool read_only) {
  close();
  timeout_ms_ = timeout_ms;
  credentials_.clear();
  zh_ = zookeeper_init(hosts.c_str(), watcher_trampoline, timeout_ms, nullptr, this,
                       read_only ? ZOO_READONLY : 0);
  return zh_ ? ZOK : ZBADARGUMENTS;
}

void ZkClient::close() {
  if (direct_) {
    direct_->close();
    direct_.reset();
  }
  if (zh_) {
    zookeeper_close(zh_);
    zh_ = nullptr;
  }
  std::lock_guard lk(mu_);
  state_cv_.notify_all();
}

SessionState ZkClient::state() const {
  if (!zh_) return SessionState::kClosed;
  int s = zoo_state(zh_);
  if (s == ZOO_CONNECTED_STATE) return SessionState::kConnected;
  if (s == ZOO_READONLY_STATE) return SessionState::kConnectedReadOnly;
  if (s == ZOO_ASSOCIATING_STATE) return SessionState::kAssociating;
  if (s == ZOO_CONNECTING_STATE) return SessionState::kConnecting;
  if (s == ZOO_EXPIRED_SESSION_STATE) return SessionState::kClosed;
  if (s == ZOO_AUTH_FAILED_STATE) return SessionState::kAuthFailed;
  if (s == ZOO_NOTCONNECTED_STATE) return SessionState::kNotConnected;
  return SessionState::kConnecting;  // 0: between two connection attempts
}

bool ZkClient::alive() const {
  SessionState s = state();
  return s != SessionState::kClosed && s != SessionState::kAuthFailed;
}

bool ZkClient::wait_connected(std::chrono::milliseconds within) {
  auto connected = [&] {
    SessionState s = state();
    return s == SessionState::kConnected || s == SessionState::kConnectedReadOnly || !alive();
  };
  std::unique_lock lk(mu_);
  state_cv_.wait_for(lk, within, connected);
  SessionState s = state();
  return s == SessionState::kConnected || s == SessionState::kConnectedReadOnly;
}

void ZkClient::on_watcher(int type, int state, const char* path) {
  {
    std::lock_guard lk(mu_);
    state_cv_.notify_all();
  }
  if (type == ZOO_NOTWATCHING_EVENT) return;  // the C client's own bookkeeping event
  WatchEvent ev;
  if (type == ZOO_SESSION_EVENT) {
    ev.type = EventType::kNone;
    if (state == ZOO_CONNECTED_STATE) ev.state = KeeperState::kSyncConnected;
    else if (state == ZOO_READONLY_STATE) ev.state = KeeperState::kConnectedReadOnly;
    else if (state == ZOO_EXPIRED_SESSION_STATE) ev.state = KeeperState::kExpired;
    else if (state == ZOO_AUTH_FAILED_STATE) ev.state = KeeperState::kAuthFailed;
    else ev.state = KeeperState::kDisconnected;
  } else {
    ev.state = state == ZOO_READONLY_STATE ? KeeperState::kConnectedReadOnly
                                           : KeeperState::kSyncConnected;
    if (type == ZOO_CREATED_EVENT) ev.type = EventType::kNodeCreated;
    else if (type == ZOO_DELETED_EVENT) ev.type = EventType::kNodeDeleted;
    else if (type == ZOO_CHANGED_EVENT) ev.type = EventType::kNodeDataChanged;
    else if (type == ZOO_CHILD_EVENT) ev.type = EventType::kNodeChildrenChanged;
    ev.path = path ? path : "";
  }
  if (on_event_) on_event_(ev);
}

int ZkClient::create(const std::string& path, const std::optional<std::string>& data,
                     const std::vector<AclEntry>& acl, CreateKind kind, bool sequential,
                     int64_t ttl, std::string* created) {
  if (!zh_) return ZINVALIDSTATE;
  int mode = ZOO_PERSISTENT;
  switch (kind) {
    case CreateKind::kPersistent:
      mode = sequential ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT;
      break;
    case CreateKind::kEphemeral:
      mode = sequential ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL;
      break;
    case CreateKind::kContainer:
      mode = ZOO_CONTAINER;
      break;
    case CreateKind::kPersistentWithTtl:
      mode = sequential ? ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL : ZOO_PERSISTENT_WITH_TTL;
      break;
  }
  CAclVector c_acl(acl);
  std::string out(path.size() + kSequenceSuffix, '\0');
  const char* value = data ? data->data() : nullptr;
  int len = data ? static_cast<int>(data->size()) : -1;
  int rc;
  if (kind == CreateKind::kPersistentWithTtl) {
    Stat st{};
    rc = zoo_create2_ttl(zh_, path.c_str(), value, len, &c_acl.vec, mode, ttl, out.data(),
                         static_cast<int>(out.size()), &st);
  } else {
    rc = zoo_create(zh_, path.c_str(), value, len, &c_acl.vec, mode, out.data(),
                    static_cast<int>(out.size()));
  }
  if (rc == ZOK && created) *created = out.c_str();
  return rc;
}

int ZkClient::get(const std::string& path, bool watch, std::optional<std::string>* data,
                  NodeStat* stat) {
  if (!zh_) return ZINVALIDSTATE;
  if (data_buffer_.size() < kInitialDataBuffer) data_buffer_.resize(kInitialDataBuffer);
  for (;;) {
    int len = static_cast<int>(data_buffer_.size());
    Stat st{};
    int rc = zoo_get(zh_, path.c_str(), watch ? 1 : 0, data_buffer_.data(), &len, &st);
    if (rc != ZOK) return rc;
    if (st.dataLength > static_cast<int32_t>(data_buffer_.size())) {
      data_buffer_.resize(static_cast<size_t>(st.dataLength));  // it grew past the buffer
      continue;
    }
    if (len < 0) data->reset();
    else *data = std::string(data_buffer_.data(), static_cast<size_t>(len));
    if (stat) *stat = to_node_stat(st);
    return ZOK;
  }
}

int ZkClient::set(const std::string& path, const std::string& data, int32_t version,
                  NodeStat* stat) {
  if (!zh_) return ZINVALIDSTATE;
  Stat st{};
  int rc = zoo_set2(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), version, &st);
  if (rc == ZOK && stat) *stat = to_node_stat(st);
  return rc;
}

int ZkClient::exists(const std::string& path, bool watch, NodeStat* stat) {
  if (!zh_) return ZINVALIDSTATE;
  Stat st{};
  int rc = zoo_exists(zh_, path.c_str(), watch ? 1 : 0, &st);
  if (rc == ZOK && stat) *stat = to_node_stat(st);
  return rc;
}

int ZkClient::children(const std::string& path, bool watch, std::vector<std::string>* names,
                       NodeStat* stat) {
  if (!zh_) return ZINVALIDSTATE;
  String_vector sv{};
  Stat st{};
  int rc = zoo_get_children2(zh_, path.c_str(), watch ? 1 : 0, &sv, &st);
  if (rc != ZOK) return rc;
  names->clear();
  for (int32_t i = 0; i < sv.count; ++i) names->emplace_back(sv.data[i]);
  deallocate_String_vector(&sv);
  if (stat) *stat = to_node_stat(st);
  return ZOK;
}

int ZkClient::remove(const std::string& path, int32_t version) {
  if (!zh_) return ZINVALIDSTATE;
  return zoo_delete(zh_, path.c_str(), version);
}

int ZkClient::remove_all(const std::vector<std::string>& paths) {
  if (!zh_) return ZINVALIDSTATE;
  if (paths.empty()) return ZOK;
  std::vector<zoo_op_t> ops(paths.size());
  std::vector<zoo_op_result_t> results(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) zoo_delete_op_init(&ops[i], paths[i].c_str(), -1);
  return zoo_multi(zh_, static_cast<int>(ops.size()), ops.data(), results.data());
}

int ZkClient::get_acl(const std::string& path, std::vector<AclEntry>* acl, NodeStat* stat) {
  if (!zh_) return ZINVALIDSTATE;
  ACL_vector v{};
  Stat st{};
  int rc = zoo_get_acl(zh_, path.c_str(), &v, &st);
  if (rc != ZOK) return rc;
  acl->clear();
  for (int32_t i = 0; i < v.count; ++i) {
    acl->push_back(AclEntry{v.data[i].perms, v.data[i].id.scheme ? v.data[i].id.scheme : "",
                            v.data[i].id.id ? v.data[i].id.id : ""});
  }
  deallocate_ACL_vector(&v);
  if (stat) *stat = to_node_stat(st);
  return ZOK;
}

int ZkClient::set_acl(const std::string& path, int32_t version, const std::vector<AclEntry>& acl) {
  if (!zh_) return ZINVALIDSTATE;
  CAclVector c_acl(acl);
  return zoo_set_acl(zh_, path.c_str(), version, &c_acl.vec);
}

int ZkClient::add_auth(const std::string& scheme, const std::optional<std::string>& auth) {
  if (!zh_) return ZINVALIDSTATE;
  int rc = await(
      [&](std::shared_ptr<AsyncResult>* holder) {
        return zoo_add_auth(zh_, scheme.c_str(), auth ? auth->data() : nullptr,
                            auth ? static_cast<int>(auth->size()) : 0, void_done, holder);
      },
      op_timeout());
  if (rc == ZOK) credentials_.push_back(Credential{scheme, auth});
  return rc;
}

int ZkClient::sync(const std::string& path) {
  if (!zh_) return ZINVALIDSTATE;
  return await(
      [&](std::shared_ptr<AsyncResult>* holder) {
        return zoo_async(zh_, path.c_str(), string_done, holder);
      },
      op_timeout());
}

int ZkClient::direct_call(sdk::OpCode opcode, const std::string& body, std::string* reply) {
  if (!zh_) return ZINVALIDSTATE;
  if (!direct_ || !direct_->alive()) {
    if (direct_) direct_->close();
    direct_.reset();
    direct_has_watches_ = false;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (!zookeeper_get_connected_host(zh_, reinterpret_cast<sockaddr*>(&addr), &len)) {
      return ZCONNECTIONLOSS;
    }
    auto session = std::make_unique<DirectSession>(
        on_event_, [this](const std::string& why) {
          if (direct_has_watches_ && on_notice_) {
            on_notice_("Persistent watches lost (" + why + "); add them again with addWatch");
          }
        });
    std::string why;
    int rc = session->open(reinterpret_cast<sockaddr*>(&addr), len, zoo_recv_timeout(zh_),
                           credentials_, op_timeout(), &why);
    if (rc != ZOK) return rc;
    direct_ = std::move(session);
  }
  return direct_->call(opcode, body, reply, op_timeout());
}

int ZkClient::add_watch(const std::string& path, WatchMode mode) {
  std::string body;
  sdk::jute::Writer w(body);
  w.write_string(path);
  w.write_int(static_cast<int32_t>(mode));
  int rc = direct_call(sdk::OpCode::kAddWatch, body, nullptr);
  if (rc == ZOK) direct_has_watches_ = true;
  return rc;
}

int ZkClient::who_am_i(std::vector<std::pair<std::string, std::string>>* identities) {
  std::string reply;
  int rc = direct_call(sdk::OpCode::kWhoAmI, {}, &reply);
  if (rc != ZOK) return rc;
  sdk::jute::Reader r(reply);
  int32_t n = r.read_count(8);  // two strings, each at least a length
  identities->clear();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string scheme = r.read_string();
    std::string user = r.read_string();
    if (r.ok()) identities->emplace_back(std::move(scheme), std::move(user));
  }
  return r.ok() ? ZOK : ZMARSHALLINGERROR;
}

}  // namespace paddock::cli
