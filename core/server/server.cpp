#include "server/server.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "admin/admin_server.hpp"
#include "acl/access.hpp"
#include "pipeline/final_stage.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/prep_stage.hpp"
#include "pipeline/sync_stage.hpp"
#include "quorum/committed_log.hpp"
#include "quorum/quorum_peer.hpp"
#include "server/client_connection.hpp"
#include "server/container_manager.hpp"
#include "server/database.hpp"
#include "server/server_context.hpp"
#include "server/server_stats.hpp"
#include "session/session_tracker.hpp"
#include "tree/data_tree.hpp"
#include "util/wall_clock.hpp"

namespace paddock::server {

namespace {

using util::wall_ms;

// Accepts client connections: enforces maxClientCnxns per address, then hands the
// connection to a ClientConnection.
class ClientAcceptor final : public sdk::AcceptHandler {
 public:
  explicit ClientAcceptor(ServerContext& ctx) : ctx_(ctx) {}
  void on_accept(std::shared_ptr<sdk::Connection> conn) override {
    auto c = std::make_shared<ClientConnection>(ctx_, conn);
    if (!ctx_.connections.add(c, c->remote_ip(), ctx_.config.max_client_cnxns)) {
      spdlog::warn("too many connections from {}: max is {}", c->remote_ip(),
                   ctx_.config.max_client_cnxns);
      conn->close();
      return;
    }
    conn->start(c);
  }

 private:
  ServerContext& ctx_;
};

// What third-party processors resume deferred requests through: each request goes back to
// the pipeline it came from (pipelines change with the server's role).
class ResumeContext final : public sdk::ProcessorContext {
 public:
  void resume(sdk::RequestView& v) override {
    static_cast<pipeline::Request&>(v).pipeline->resume(v);
  }
  void resume_with_error(sdk::RequestView& v, sdk::ErrorCode e) override {
    static_cast<pipeline::Request&>(v).pipeline->resume_with_error(v, e);
  }
  void answer(sdk::RequestView& v, std::string_view body) override {
    static_cast<pipeline::Request&>(v).pipeline->answer(v, body);
  }
};

unsigned io_thread_count(int32_t configured) {
  if (configured > 0) return static_cast<unsigned>(configured);
  unsigned hw = std::thread::hardware_concurrency();
  return std::max(1u, std::min(8u, hw == 0 ? 2u : hw));
}

}  // namespace

struct Server::Impl {
  Impl(config::ServerConfig cfg, std::optional<quorum::QuorumConfig> q, Plugins p)
      : config(std::move(cfg)),
        quorum(std::move(q)),
        plugins(std::move(p)),
        sessions(config.tick_time_ms, quorum ? quorum->my_id : 1,
                 [this](std::shared_ptr<session::Session> s) { expire(std::move(s)); }),
        ctx{config, tree, sessions, stats, connections, *plugins.storage},
        database(tree, sessions, *plugins.storage, &committed_log),
        prep(ctx),
        sync(ctx, [this] { database.roll_and_snapshot(); }),
        final_stage(ctx),
        acceptor(ctx),
        auth_registry(acl::AuthRegistry::Settings{config.super_digest, config.x509_super_user,
                                                  config.digest_auth_enabled, config.skip_acl}),
        containers(ctx) {
    ctx.prep = &prep;
    ctx.sync = &sync;
    ctx.final_stage = &final_stage;
    ctx.committed_log = &committed_log;
    if (quorum) ctx.my_id = quorum->my_id;
    database.set_stats(&stats);
  }

  std::unique_ptr<pipeline::Pipeline> make_pipeline(
      std::vector<std::pair<std::string, sdk::Processor*>> core) {
    auto p = std::make_unique<pipeline::Pipeline>(std::move(core));
    p->set_finisher([this](pipeline::Request& r) { sync.complete(r); });
    for (auto& pp : plugins.processors) p->insert(pp.point, pp.name, *pp.processor);
    return p;
  }

  void expire(std::shared_ptr<session::Session> s) {
    pipeline::Pipeline* p = ctx.active_pipeline.load();
    if (!p) {
      s->closing = false;  // not deciding sessions right now
      return;
    }
    spdlog::info("session 0x{:x} timed out after {} ms", s->id, s->timeout_ms.load());
    auto r = std::make_unique<pipeline::Request>();
    r->session_ref = s;
    r->session_id = s->id;
    r->type = sdk::OpCode::kCloseSession;
    p->submit(std::move(r));
  }

  void close_clients() {
    for (const auto& c : connections.all()) c->close();
  }

  // ---- operations: the AdminServer (admin.*) and the Prometheus provider's endpoint
  // (metricsProvider.*). A port that cannot be bound is logged and skipped; serving goes on.
  void start_admin() {
    std::ifstream in(config.config_path);
    std::stringstream text;
    text << in.rdbuf();
    admin::Sources sources{ctx, peer.get(), text.str()};
    if (config.admin_enable_server) {
      admin_server = std::make_unique<admin::AdminServer>(
          sources, admin::AdminServer::Options{"AdminServer", config.admin_server_address,
                                               config.admin_server_port, config.admin_command_url,
                                               true, config.admin_idle_timeout_ms});
      admin_server->start();
    }
    if (config.metrics_provider_port >= 0) {
      metrics_endpoint = std::make_unique<admin::AdminServer>(
          sources, admin::AdminServer::Options{"Prometheus metrics endpoint",
                                               config.metrics_provider_host,
                                               config.metrics_provider_port, "", true,
                                               config.admin_idle_timeout_ms});
      metrics_endpoint->start();
    }
  }
  void stop_admin() {
    if (admin_server) admin_server->stop();
    if (metrics_endpoint) metrics_endpoint->stop();
  }

  // ---- read-only mode (readonlymode.enabled) ----
  // While the peer looks for a leader: after max(2000 ms, tickTime) it serves its local tree
  // to clients that accept a read-only server, until the election ends.
  void looking_started() {
    if (!config.read_only_mode) return;
    std::lock_guard lk(ro_mu);
    ro_cancel = false;
    ro_timer = std::thread([this] {
      std::unique_lock lk2(ro_mu);
      int64_t delay = std::max<int64_t>(2000, config.tick_time_ms);
      if (ro_cv.wait_for(lk2, std::chrono::milliseconds(delay), [this] { return ro_cancel; })) return;
      ro_pipeline = make_pipeline({{"prep", &prep}, {"sync", &sync}, {"final", &final_stage}});
      ctx.read_only = true;
      ctx.mode = "read-only";
      ctx.active_pipeline.store(ro_pipeline.get(), std::memory_order_release);
      ctx.serving = true;
      spdlog::info("read-only mode: serving the local tree (zxid 0x{:x}) to read-only clients",
                   tree.last_processed_zxid());
    });
  }

  void looking_ended() {
    std::thread timer;
    {
      std::lock_guard lk(ro_mu);
      ro_cancel = true;
      timer = std::move(ro_timer);
    }
    ro_cv.notify_all();
    if (timer.joinable()) timer.join();
    if (!ctx.read_only.load()) return;
    spdlog::info("read-only mode ends: the election is over");
    ctx.serving = false;
    ctx.active_pipeline.store(nullptr, std::memory_order_release);
    close_clients();
    sync.drain();
    ctx.read_only = false;
    // Sessions made while read-only were this server's alone.
    for (const auto& s : sessions.all()) {
      if (s->local) sessions.remove(s->id);
    }
    std::lock_guard lk(ro_mu);
    ro_pipeline.reset();
  }

  config::ServerConfig config;
  std::optional<quorum::QuorumConfig> quorum;
  Plugins plugins;
  tree::DataTree tree;
  ServerStats stats;
  ConnectionRegistry connections;
  quorum::CommittedLog committed_log;
  session::SessionTracker sessions;
  ServerContext ctx;
  Database database;
  pipeline::PrepStage prep;
  pipeline::SyncStage sync;
  pipeline::FinalStage final_stage;
  ClientAcceptor acceptor;
  ResumeContext resume_context;
  std::unique_ptr<pipeline::Pipeline> standalone_pipeline;
  std::unique_ptr<quorum::QuorumPeer> peer;
  std::unique_ptr<sdk::Listener> listener;
  std::unique_ptr<sdk::Listener> secure_listener;
  acl::AuthRegistry auth_registry;
  ContainerManager containers;
  std::mutex ro_mu;
  std::condition_variable ro_cv;
  bool ro_cancel = false;
  std::thread ro_timer;
  std::unique_ptr<pipeline::Pipeline> ro_pipeline;
  std::unique_ptr<admin::AdminServer> admin_server;      // declared last: stopped first
  std::unique_ptr<admin::AdminServer> metrics_endpoint;
  bool started = false;
};

Server::Server(config::ServerConfig config, std::optional<quorum::QuorumConfig> quorum, Plugins plugins)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(quorum), std::move(plugins))) {}

Server::~Server() { stop(); }

sdk::Status Server::start() {
  Impl& m = *impl_;
  const auto& cfg = m.config;
  m.ctx.start_time_ms = wall_ms();
  for (auto& a : m.plugins.auth) {
    if (auto st = m.auth_registry.add(a.get(), a.descriptor().name); !st) return st;
  }
  m.ctx.auth = &m.auth_registry;
  if (!m.plugins.auth.empty()) {
    std::string schemes;
    for (const auto& s : m.auth_registry.schemes()) schemes += (schemes.empty() ? "" : ", ") + s;
    spdlog::info("ACL schemes: world, auth, super, {}", schemes);
  }

  auto t0 = std::chrono::steady_clock::now();
  auto restored = m.database.restore();
  if (!restored) return restored.status();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("database restored in {} ms: last zxid 0x{:x}, {} txns replayed, {} sessions, {} nodes",
               ms, restored->last_zxid, restored->txns_replayed, restored->sessions,
               m.tree.node_count());
  m.prep.set_last_zxid(restored->last_zxid);
  if (!restored->had_snapshot) {
    // A fresh dataDir: write snapshot.<zxid> now so the log never exists without one.
    if (auto st = m.database.snapshot(true); !st) return st;
  } else if (restored->txns_replayed > 0) {
    m.database.snapshot_in_background();
  }

  for (auto& p : m.plugins.processors) {
    if (auto st = p.processor->start(m.resume_context); !st) {
      return sdk::Status::error("processor '" + p.name + "' failed to start: " + st.message());
    }
  }
  if (auto st = m.sync.start(m.resume_context); !st) return st;
  m.sessions.start();
  m.database.start_autopurge(cfg.autopurge_purge_interval_hours, cfg.autopurge_snap_retain_count);

  unsigned io_threads = io_thread_count(cfg.io_threads);
  if (auto st = m.plugins.transport->start(io_threads); !st) return st;
  std::string host = cfg.client_port_address.empty() ? "0.0.0.0" : cfg.client_port_address;
  auto listener = m.plugins.transport->listen(host, static_cast<uint16_t>(cfg.client_port), m.acceptor);
  if (!listener) return listener.status();
  m.listener = std::move(listener.value());
  spdlog::info("serving clients on {}:{} ({} I/O threads)", host, m.listener->port(), io_threads);
  if (m.plugins.secure_transport) {
    auto& secure = *m.plugins.secure_transport;
    if (auto st = secure.start(io_threads); !st) return st;
    std::string shost = cfg.secure_client_port_address.empty() ? "0.0.0.0" : cfg.secure_client_port_address;
    auto sl = secure.listen(shost, static_cast<uint16_t>(cfg.secure_client_port), m.acceptor);
    if (!sl) return sl.status();
    m.secure_listener = std::move(sl.value());
    spdlog::info("serving TLS clients on {}:{} ({} transport)", shost, m.secure_listener->port(),
                 m.plugins.secure_transport.descriptor().name);
  }
  m.started = true;

  // Empty containers and expired TTL nodes go where sessions are decided (it checks).
  m.containers.start();

  if (!m.quorum) {
    m.standalone_pipeline = m.make_pipeline({{"prep", &m.prep}, {"sync", &m.sync}, {"final", &m.final_stage}});
    m.ctx.active_pipeline = m.standalone_pipeline.get();
    m.ctx.mode = "standalone";
    m.ctx.serving = true;
    m.start_admin();
    return {};
  }

  // An ensemble member: the quorum transport carries the election and quorum ports.
  if (auto st = m.plugins.quorum_transport->start(2); !st) return st;
  quorum::PeerServices services{m.ctx,
                                m.tree,
                                m.sessions,
                                *m.plugins.storage,
                                m.database,
                                m.prep,
                                m.sync,
                                m.final_stage,
                                m.committed_log,
                                *m.plugins.quorum_transport,
                                [&m](std::vector<std::pair<std::string, sdk::Processor*>> core) {
                                  return m.make_pipeline(std::move(core));
                                },
                                [&m] { m.close_clients(); },
                                [&m] { m.looking_started(); },
                                [&m] { m.looking_ended(); }};
  // The role plugin drives this peer only if it is not a participant (an observer).
  sdk::Role* role = m.quorum->is_observer() ? m.plugins.role.get() : nullptr;
  if (m.quorum->is_observer() && (!role || role->peer_type() != "observer")) {
    return sdk::Status::error("this server is an observer but no observer role plugin is loaded");
  }
  m.peer = std::make_unique<quorum::QuorumPeer>(*m.quorum, std::move(services), *m.plugins.election, role);
  if (auto st = m.peer->start(); !st) return st;
  spdlog::info("ensemble member {} of {} ({}), election on {}:{}, quorum port {}", m.quorum->my_id,
               m.quorum->servers.size(), m.quorum->is_observer() ? "observer" : "participant",
               m.quorum->me().host, m.quorum->me().election_port, m.quorum->me().quorum_port);
  m.start_admin();
  return {};
}

void Server::stop() {
  if (!impl_ || !impl_->started) return;
  Impl& m = *impl_;
  m.started = false;
  m.stop_admin();
  m.ctx.serving = false;
  if (m.listener) m.listener->close();
  if (m.secure_listener) m.secure_listener->close();
  m.containers.stop();
  if (m.peer) m.peer->stop();
  m.looking_ended();
  m.sessions.stop();
  m.plugins.transport->stop();
  if (m.plugins.secure_transport) m.plugins.secure_transport->stop();
  if (m.plugins.quorum_transport) m.plugins.quorum_transport->stop();
  m.sync.stop();
  m.database.stop_autopurge();
  for (auto& p : m.plugins.processors) p.processor->stop();
  m.database.wait_for_snapshot();
  if (auto st = m.plugins.storage->commit(); !st) {
    spdlog::error("final commit failed: {}", st.message());
  }
  spdlog::info("server stopped at zxid 0x{:x}", m.tree.last_processed_zxid());
}

}  // namespace paddock::server
