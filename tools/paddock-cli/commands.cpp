#include "commands.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <optional>

#include "acl_text.hpp"
#include "command_line.hpp"
#include "console.hpp"
#include "printer.hpp"
#include "zk_client.hpp"
#include "znode_path.hpp"

namespace paddock::cli {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int64_t kMaxTtl = 0xFFFFFFFFFFLL;  // EphemeralType.TTL.maxValue()
constexpr int kDefaultDeleteBatch = 1000;    // zkCli's deleteall default

struct Ctx {
  ZkClient& zk;
  Console& console;
  const ParsedArgs& a;
  std::string_view usage_line;

  int fail(std::string_view message) {
    console.err(std::string(message) + "\n");
    return kFailed;
  }
  int fail_usage() { return fail(usage_line); }
  int fail_rc(int rc, std::string_view path) { return fail(error_message(rc, path)); }
  void out(std::string_view text) { console.out(text); }
  // The path argument checked as the Java client checks it; its message printed if bad.
  bool valid_path(const std::string& path, bool sequential = false) {
    if (auto problem = path_problem(path, sequential)) {
      fail(*problem);
      return false;
    }
    return true;
  }
};

template <typename T>
bool parse_number(const std::string& s, T* out) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end && !s.empty();
}

// -v version, absent = -1 (any version).
bool version_option(Ctx& c, int32_t* version) {
  *version = -1;
  if (!c.a.has('v')) return true;
  if (!parse_number(c.a.value('v'), version)) {
    c.fail("-v argument must be an int value: " + c.a.value('v'));
    return false;
  }
  return true;
}

std::vector<AclEntry> acl_argument(Ctx& c, const std::string& text) {
  std::vector<std::string> warnings;
  auto acl = parse_acl(text, &warnings);
  for (const auto& w : warnings) c.console.err(w + "\n");
  return acl;
}

const std::vector<AclEntry>& open_acl() {
  static const std::vector<AclEntry> acl{{perms::kAll, "world", "anyone"}};
  return acl;
}

// ZKUtil.visitSubTreeDFS: the node itself, then each level's children (sorted) before their
// own subtrees. Nodes vanishing under the walk are skipped, as ZooKeeper skips them.
template <typename Visit>
int visit_subtree(Ctx& c, const std::string& path, bool watch, Visit visit) {
  std::optional<std::string> data;
  int rc = c.zk.get(path, watch, &data, nullptr);
  if (rc != zerr::kOk) return rc;
  visit(path);
  // ZooKeeper's recursion, as an explicit walk in the same order.
  struct Frame {
    std::vector<std::string> children;
    size_t next = 0;
  };
  std::vector<Frame> frames;
  auto expand = [&](const std::string& node) -> bool {
    std::vector<std::string> names;
    int r = c.zk.children(node, watch, &names, nullptr);
    if (r == zerr::kNoNode) {
      frames.push_back(Frame{});
      return true;
    }
    if (r != zerr::kOk) {
      rc = r;
      return false;
    }
    std::sort(names.begin(), names.end());
    Frame f;
    for (const auto& n : names) {
      f.children.push_back(child_path(node, n));
      visit(f.children.back());
    }
    frames.push_back(std::move(f));
    return true;
  };
  if (!expand(path)) return rc;
  while (!frames.empty()) {
    Frame& top = frames.back();
    if (top.next == top.children.size()) {
      frames.pop_back();
      continue;
    }
    std::string node = top.children[top.next++];
    if (!expand(node)) return rc;
  }
  return zerr::kOk;
}

// ---------------------------------------------------------------- the commands

int cmd_ls(Ctx& c) {
  const std::string& path = c.a.args[1];
  if (!c.valid_path(path)) return kFailed;
  bool watch = c.a.has('w');
  if (c.a.has('R')) {
    int rc = visit_subtree(c, path, watch, [&](const std::string& p) { c.out(p + "\n"); });
    return rc == zerr::kOk ? kOk : c.fail_rc(rc, path);
  }
  std::vector<std::string> names;
  NodeStat st;
  int rc = c.zk.children(path, watch, &names, &st);
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  std::sort(names.begin(), names.end());
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  out += "]\n";
  if (c.a.has('s')) out += stat_text(st);
  c.out(out);
  return kOk;
}

int cmd_get(Ctx& c) {
  const std::string& path = c.a.args[1];
  if (!c.valid_path(path)) return kFailed;
  std::optional<std::string> data;
  NodeStat st;
  int rc = c.zk.get(path, c.a.has('w'), &data, &st);
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  std::string out = (data ? *data : std::string("null")) + "\n";
  if (c.a.has('s')) out += stat_text(st);
  c.out(out);
  return kOk;
}

int cmd_set(Ctx& c) {
  const std::string& path = c.a.args[1];
  int32_t version;
  if (!version_option(c, &version) || !c.valid_path(path)) return kFailed;
  NodeStat st;
  int rc = c.zk.set(path, c.a.args[2], version, &st);
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  if (c.a.has('s')) c.out(stat_text(st));
  return kOk;
}

int cmd_create(Ctx& c) {
  bool e = c.a.has('e'), s = c.a.has('s'), container = c.a.has('c'), t = c.a.has('t');
  if (container && (e || s)) {
    return c.fail("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.");
  }
  int64_t ttl = 0;
  if (t && !parse_number(c.a.value('t'), &ttl)) return c.fail("-t argument must be a long value");
  if (t && e) return c.fail("TTLs cannot be used with Ephemeral znodes");
  if (t && container) return c.fail("TTLs cannot be used with Container znodes");
  if (t && (ttl <= 0 || ttl > kMaxTtl)) {
    return c.fail("ttl must be positive and cannot be larger than: " + std::to_string(kMaxTtl));
  }
  CreateKind kind = e           ? CreateKind::kEphemeral
                    : container ? CreateKind::kContainer
                    : t         ? CreateKind::kPersistentWithTtl
                                : CreateKind::kPersistent;
  const std::string& path = c.a.args[1];
  std::optional<std::string> data;
  if (c.a.args.size() > 2) data = c.a.args[2];
  std::vector<AclEntry> acl = c.a.args.size() > 3 ? acl_argument(c, c.a.args[3]) : open_acl();
  if (!c.valid_path(path, s)) return kFailed;
  std::string created;
  int rc = c.zk.create(path, data, acl, kind, s, ttl, &created);
  // zkCli prints the exception itself before its summary for this one.
  if (rc == zerr::kInvalidAcl) c.console.err("KeeperErrorCode = InvalidACL for " + path + "\n");
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  c.out("Created " + created + "\n");
  return kOk;
}

int cmd_delete(Ctx& c) {
  const std::string& path = c.a.args[1];
  int32_t version;
  if (!version_option(c, &version) || !c.valid_path(path)) return kFailed;
  int rc = c.zk.remove(path, version);
  return rc == zerr::kOk ? kOk : c.fail_rc(rc, path);
}

// ZKUtil.deleteRecursive: the subtree listed breadth first, deleted deepest first in
// multi-operations of at most -b nodes.
int cmd_deleteall(Ctx& c) {
  int batch = kDefaultDeleteBatch;
  if (c.a.has('b') && !parse_number(c.a.value('b'), &batch)) {
    return c.fail("-b argument must be an int value");
  }
  const std::string& root = c.a.args[1];
  if (!c.valid_path(root)) return kFailed;
  std::vector<std::string> tree{root};
  std::deque<std::string> queue{root};
  while (!queue.empty()) {
    std::string node = queue.front();
    queue.pop_front();
    std::vector<std::string> names;
    int rc = c.zk.children(node, false, &names, nullptr);
    if (rc != zerr::kOk) return c.fail_rc(rc, node);
    for (const auto& n : names) {
      tree.push_back(child_path(node, n));
      queue.push_back(tree.back());
    }
  }
  std::vector<std::string> ops;
  for (size_t i = tree.size(); i-- > 0;) {
    ops.push_back(tree[i]);
    if (static_cast<int>(ops.size()) == batch || i == 0) {
      if (c.zk.remove_all(ops) != zerr::kOk) return c.fail("Failed to delete some node(s) in the subtree!");
      ops.clear();
    }
  }
  return kOk;
}

int cmd_stat(Ctx& c) {
  const std::string& path = c.a.args[1];
  if (!c.valid_path(path)) return kFailed;
  NodeStat st;
  int rc = c.zk.exists(path, c.a.has('w'), &st);
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  c.out(stat_text(st));
  return kOk;
}

int cmd_get_acl(Ctx& c) {
  const std::string& path = c.a.args[1];
  if (!c.valid_path(path)) return kFailed;
  std::vector<AclEntry> acl;
  NodeStat st;
  int rc = c.zk.get_acl(path, &acl, &st);
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  std::string out = acl_text(acl);
  if (c.a.has('s')) out += stat_text(st);
  c.out(out);
  return kOk;
}

int cmd_set_acl(Ctx& c) {
  const std::string& path = c.a.args[1];
  int32_t version;
  if (!version_option(c, &version) || !c.valid_path(path)) return kFailed;
  std::vector<AclEntry> acl = acl_argument(c, c.a.args[2]);
  if (c.a.has('R')) {
    int failures = 0;
    int rc = visit_subtree(c, path, false, [&](const std::string& p) {
      int r = c.zk.set_acl(p, version, acl);
      if (r != zerr::kOk) {
        ++failures;
        c.console.err(error_message(r, p) + "\n");
      }
    });
    if (rc != zerr::kOk) return c.fail_rc(rc, path);
    return failures ? kFailed : kOk;
  }
  int rc = c.zk.set_acl(path, version, acl);
  if (rc != zerr::kOk) return c.fail_rc(rc, path);
  if (c.a.has('s')) {
    // The C client's setACL does not return the Stat; read it back.
    NodeStat st;
    rc = c.zk.exists(path, false, &st);
    if (rc != zerr::kOk) return c.fail_rc(rc, path);
    c.out(stat_text(st));
  }
  return kOk;
}

int cmd_addauth(Ctx& c) {
  std::optional<std::string> auth;
  if (c.a.args.size() > 2) auth = c.a.args[2];
  int rc = c.zk.add_auth(c.a.args[1], auth);
  return rc == zerr::kOk ? kOk : c.fail_rc(rc, "");
}

int cmd_sync(Ctx& c) {
  const std::string& path = c.a.args[1];
  if (!c.valid_path(path)) return kFailed;
  int rc = c.zk.sync(path);
  if (rc != zerr::kOk) return c.fail("Sync has failed. rc=" + std::to_string(rc));
  c.out("Sync is OK\n");
  return kOk;
}

int cmd_add_watch(Ctx& c) {
  if (c.a.args.size() != 2) return c.fail_usage();
  WatchMode mode = WatchMode::kPersistentRecursive;
  if (c.a.has('m')) {
    std::string m = c.a.value('m');
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (m == "PERSISTENT") mode = WatchMode::kPersistent;
    else if (m == "PERSISTENT_RECURSIVE") mode = WatchMode::kPersistentRecursive;
    else return c.fail_usage();
  }
  const std::string& path = c.a.args[1];
  if (!c.valid_path(path)) return kFailed;
  int rc = c.zk.add_watch(path, mode);
  return rc == zerr::kOk ? kOk : c.fail_rc(rc, path);
}

int cmd_whoami(Ctx& c) {
  std::vector<std::pair<std::string, std::string>> ids;
  int rc = c.zk.who_am_i(&ids);
  if (rc != zerr::kOk) return c.fail_rc(rc, "");
  std::string out = "Auth scheme: User\n";
  for (const auto& [scheme, user] : ids) out += scheme + ": " + user + "\n";
  c.out(out);
  return kOk;
}

// ---------------------------------------------------------------- the table

struct Command {
  CommandInfo info;
  std::string_view options;  // parse_args spec
  size_t min_args;           // words that are not options, the command's name included
  size_t max_args;
  int (*run)(Ctx&);
};

const std::vector<Command>& table() {
  static const std::vector<Command> commands{
      {{"addWatch", "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"},
       "m:", 2, 2, cmd_add_watch},
      {{"addauth", "scheme auth"}, "", 2, 3, cmd_addauth},
      {{"create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]"}, "sect:", 2, 4, cmd_create},
      {{"delete", "[-v version] path"}, "v:", 2, 2, cmd_delete},
      {{"deleteall", "path [-b batch size]"}, "b:", 2, 2, cmd_deleteall},
      {{"get", "[-s] [-w] path"}, "sw", 2, 2, cmd_get},
      {{"getAcl", "[-s] path"}, "s", 2, 2, cmd_get_acl},
      {{"ls", "[-s] [-w] [-R] path"}, "swR", 2, 2, cmd_ls},
      {{"set", "[-s] [-v version] path data"}, "sv:", 3, 3, cmd_set},
      {{"setAcl", "[-s] [-v version] [-R] path acl"}, "sv:R", 3, 3, cmd_set_acl},
      {{"stat", "[-w] path"}, "w", 2, 2, cmd_stat},
      {{"sync", "path"}, "", 2, 2, cmd_sync},
      {{"whoami", ""}, "", 1, 1, cmd_whoami},
  };
  return commands;
}

const Command* find(std::string_view name) {
  for (const auto& c : table()) {
    if (c.info.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

const std::vector<CommandInfo>& zookeeper_commands() {
  static const std::vector<CommandInfo> infos = [] {
    std::vector<CommandInfo> v;
    for (const auto& c : table()) v.push_back(c.info);
    return v;
  }();
  return infos;
}

bool is_zookeeper_command(std::string_view name) { return find(name) != nullptr; }

int run_zookeeper_command(ZkClient& zk, Console& console, const std::vector<std::string>& words) {
  const Command* cmd = find(words.at(0));
  if (!cmd) return kFailed;
  std::string usage_line(cmd->info.name);
  if (!cmd->info.usage.empty()) usage_line += " " + std::string(cmd->info.usage);
  std::string error;
  auto parsed = parse_args(words, cmd->options, &error);
  if (!parsed) {
    console.err(error + "\n");
    return kFailed;
  }
  ParsedArgs& a = *parsed;
  Ctx ctx{zk, console, a, usage_line};
  if (a.args.size() < cmd->min_args || a.args.size() > cmd->max_args) return ctx.fail_usage();
  return cmd->run(ctx);
}

}  // namespace paddock::cli
