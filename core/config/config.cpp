// zoo.cfg reading and validation. Facts about ZooKeeper's keys (names, defaults, which ones
// its parser reads itself and which become "zookeeper.<key>" system properties) come from
// ZooKeeper 3.8's QuorumPeerConfig, ZooKeeperServer and zookeeperAdmin.md.
#include "config/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace paddock::config {
namespace {

constexpr auto kOn = KeyUse::kActedOn;
constexpr auto kOff = KeyUse::kIgnored;
constexpr std::string_view kZkPrefix = "zookeeper.";

// A key ZooKeeper's config parser reads itself (no system-property spelling).
KeyDecl zk(std::string_view name, std::string_view type, std::string_view def, KeyUse use,
           std::string_view description) {
  return KeyDecl{name, type, def, description, use, false, false};
}

// A key ZooKeeper reads as the system property "zookeeper.<name>".
KeyDecl prop(std::string_view name, std::string_view type, std::string_view def, KeyUse use,
             std::string_view description) {
  return KeyDecl{name, type, def, description, use, false, true};
}

// A family of keys sharing a prefix ("server." for server.1, server.2 ...).
KeyDecl family(std::string_view prefix, std::string_view type, KeyUse use, bool alias,
               std::string_view description) {
  return KeyDecl{prefix, type, "", description, use, true, alias};
}

// One of Paddock's own keys.
KeyDecl own(std::string_view name, std::string_view type, std::string_view def,
            std::string_view description) {
  return KeyDecl{name, type, def, description, kOn, false, false};
}

std::vector<KeyDecl> make_core_keys() {
  return {
      // ---- ZooKeeper keys Paddock acts on ----
      zk("tickTime", "int", "3000", kOn,
         "length of one tick in milliseconds, the unit of heartbeats and timeouts"),
      zk("dataDir", "path", "", kOn,
         "directory of snapshots (and of the transaction log unless dataLogDir is set); required"),
      zk("dataLogDir", "path", "", kOn, "directory of the transaction log; defaults to dataDir"),
      zk("clientPort", "int", "2181", kOn, "TCP port clients connect to"),
      zk("clientPortAddress", "addr", "", kOn,
         "address (IPv4, IPv6 or host name) to listen on for clients; empty = all addresses"),
      zk("maxClientCnxns", "int", "60", kOn,
         "concurrent connections one client IP address may hold; 0 = no limit"),
      zk("minSessionTimeout", "int", "", kOn,
         "smallest session timeout (ms) a client may negotiate; defaults to 2 x tickTime"),
      zk("maxSessionTimeout", "int", "", kOn,
         "largest session timeout (ms) a client may negotiate; defaults to 20 x tickTime"),
      zk("autopurge.snapRetainCount", "int", "3", kOn,
         "snapshots (and their logs) auto purge keeps; values below 3 count as 3"),
      zk("autopurge.purgeInterval", "int", "0", kOn,
         "hours between auto purge runs; 0 or less disables auto purge"),
      prop("4lw.commands.whitelist", "list", "srvr", kOn,
           "four-letter-word commands to enable, comma or space separated; * = all; srvr always"),
      zk("jute.maxbuffer", "int", "1048575", kOn,
         "largest request or znode payload in bytes the server accepts"),
      prop("snapCount", "int", "100000", kOn,
           "transactions between snapshots (randomised in [snapCount/2+1, snapCount])"),
      prop("snapSizeLimitInKb", "long", "4194304", kOn,
           "transaction log KiB between snapshots; 0 or less disables the limit"),
      prop("preAllocSize", "long", "65536", kOn,
           "KiB the transaction log file grows by at a time; 0 disables preallocation"),
      prop("forceSync", "yesno", "yes", kOn,
           "fsync the transaction log before acknowledging a write (yes or no)"),
      prop("globalOutstandingLimit", "int", "1000", kOn,
           "outstanding requests above which the server stops reading from clients"),
      prop("maxBatchSize", "int", "1000", kOn,
           "transactions written before the transaction log is flushed"),
      prop("digest.enabled", "bool", "true", kOff,
           "keep the data tree digest and check it against transactions and snapshots"),
      zk("readonlymode.enabled", "bool", "false", kOn,
         "read-only mode when partitioned from the quorum; here only adds isro to the whitelist"),

      // ---- Paddock's own keys ----
      own("paddock.pluginDir", "path", "",
          "directory of plugin .so files; empty = ../lib/paddock/plugins from the binary"),
      own("paddock.storage", "string", "file", "storage plugin (transaction log and snapshots)"),
      own("paddock.transport", "string", "tcp", "transport plugin for the client port"),
      own("paddock.election", "string", "fle",
          "election plugin of an ensemble member (electionAlg=3 means fle)"),
      own("paddock.quorumTransport", "string", "tcp",
          "transport plugin of the quorum and election ports (tls when sslQuorum=true)"),
      own("paddock.secureTransport", "string", "tls",
          "transport plugin for secureClientPort (loaded only when that key is set)"),
      own("paddock.logLevel", "string", "info",
          "server log level: trace, debug, info, warn or error"),
      own("paddock.logFile", "path", "", "server log file; empty = standard error"),
      own("paddock.ioThreads", "int", "0", "network I/O threads; 0 = automatic"),
      own("paddock.processors", "list", "",
          "extra pipeline stages, comma separated point:name with point one of beforePrep, "
          "afterPrep, afterCommit, afterFinal"),

      // ---- ZooKeeper keys accepted but not acted on yet: ports and addresses ----
      zk("secureClientPort", "int", "", kOn,
         "TLS port for client connections, served by paddock.secureTransport"),
      zk("secureClientPortAddress", "addr", "", kOn,
         "address of the TLS client port; empty = clientPortAddress's"),
      zk("clientPortListenBacklog", "int", "-1", kOff,
         "listen backlog of the client socket; -1 = the system's default"),
      zk("observerMasterPort", "int", "", kOff, "port a follower listens on to serve observers"),
      prop("maxCnxns", "int", "0", kOff,
           "concurrent client connections per client port; 0 = no limit"),

      // ---- ensemble (quorum) ----
      family(
          "server.", "string", kOn, false,
          "server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]; N an integer"),
      family("group.", "string", kOff, false,
             "group.N=id:id...: hierarchical quorum group of server ids; N an integer"),
      family("weight.", "long", kOff, false,
             "weight.N=w: vote weight of server N in hierarchical quorums; N an integer"),
      zk("initLimit", "int", "", kOn,
         "ticks a follower may take to connect and sync to the leader"),
      zk("syncLimit", "int", "", kOn, "ticks a follower may lag behind the leader"),
      zk("connectToLearnerMasterLimit", "int", "", kOff,
         "ticks a follower may take to connect to the leader; defaults to initLimit"),
      zk("electionAlg", "int", "3", kOn,
         "leader election algorithm; only 3 (fast election) exists"),
      zk("peerType", "string", "participant", kOn, "participant or observer"),
      zk("quorumListenOnAllIPs", "bool", "false", kOff,
         "listen for peers on all addresses instead of the one in server.N"),
      zk("standaloneEnabled", "bool", "true", kOn,
         "false runs even a single server in replicated mode"),
      zk("reconfigEnabled", "bool", "false", kOff, "allow dynamic reconfiguration"),
      zk("dynamicConfigFile", "path", "", kOff,
         "file holding the dynamic (server.N) configuration"),
      zk("version", "string", "", kOff, "version of the dynamic configuration (hexadecimal)"),
      zk("syncEnabled", "bool", "true", kOff, "observers log transactions and snapshot to disk"),
      prop("observer.syncEnabled", "bool", "true", kOff, "system-property form of syncEnabled"),
      zk("localSessionsEnabled", "bool", "false", kOff, "enable local (server-only) sessions"),
      zk("localSessionsUpgradingEnabled", "bool", "false", kOff,
         "upgrade local sessions to global ones when needed"),
      zk("oraclePath", "path", "", kOff, "oracle file for two-node ensembles"),
      zk("quorum.cnxn.threads.size", "int", "20", kOff,
         "threads for quorum connection (SASL) handshakes"),
      // Read by the parser, which starts from the "zookeeper.multiAddress.*" properties.
      prop("multiAddress.enabled", "bool", "false", kOff,
           "allow several addresses per server in server.N"),
      prop("multiAddress.reachabilityCheckTimeoutMs", "int", "1000", kOff,
           "timeout (ms) of the reachability check of multiple addresses"),
      prop("multiAddress.reachabilityCheckEnabled", "bool", "true", kOff,
           "check which of multiple addresses are reachable"),
      prop("cnxTimeout", "int", "5000", kOff, "timeout (ms) opening leader election connections"),
      prop("quorumCnxnTimeoutMs", "int", "-1", kOff,
           "read timeout (ms) of election connections; -1 = syncLimit x tickTime"),
      prop("tcpKeepAlive", "bool", "false", kOff, "TCP keep-alive on quorum sockets"),
      prop("electionPortBindRetry", "int", "3", kOff,
           "retries binding the election port; 0 = forever"),
      prop("fastleader.minNotificationInterval", "int", "200", kOn,
           "lower bound (ms) between election notification checks"),
      prop("fastleader.maxNotificationInterval", "int", "60000", kOn,
           "upper bound (ms) between election notification checks"),
      prop("leaderServes", "yesno", "yes", kOff, "the leader accepts client connections"),
      prop("maxTimeToWaitForEpoch", "int", "-1", kOff,
           "documented name of leader.maxTimeToWaitForEpoch"),
      prop("leader.maxTimeToWaitForEpoch", "int", "-1", kOff,
           "ms a new leader waits for epochs from voters; -1 = no limit"),
      prop("maxConcurrentSnapSyncs", "int", "10", kOff,
           "documented name of leader.maxConcurrentSnapSyncs"),
      prop("leader.maxConcurrentSnapSyncs", "int", "10", kOff,
           "snapshot syncs a leader or follower serves at once"),
      prop("maxConcurrentDiffSyncs", "int", "100", kOff,
           "documented name of leader.maxConcurrentDiffSyncs"),
      prop("leader.maxConcurrentDiffSyncs", "int", "100", kOff,
           "diff syncs a leader or follower serves at once"),
      prop("leader.closeSocketAsync", "bool", "false", kOff,
           "the leader closes quorum sockets asynchronously"),
      prop("learner.closeSocketAsync", "bool", "false", kOff,
           "a learner closes its quorum socket asynchronously"),
      prop("learner.asyncSending", "bool", "false", kOff,
           "a learner sends packets from a separate thread"),
      prop("leader.ackLoggingFrequency", "int", "1000", kOff, "log every Nth ack at the leader"),
      prop("leaderConnectDelayDuringRetryMs", "int", "100", kOff,
           "delay (ms) between a learner's connection attempts to the leader"),
      prop("testingonly.initialZxid", "long", "", kOn,
           "testing only: the zxid counter a new leader starts its epoch at (e.g. 4294967280 "
           "to see the counter roll over into a new election)"),
      prop("forceSnapshotSync", "bool", "false", kOff,
           "always sync learners with a snapshot (testing)"),
      prop("observer.reconnectDelayMs", "long", "0", kOff,
           "delay (ms) before an observer reconnects to a new leader"),
      prop("observer.election.DelayMs", "long", "200", kOff,
           "delay (ms) before an observer joins an election"),
      prop("observerMaster.sizeLimit", "int", "33554432", kOff,
           "bytes of proposals an observer master keeps for syncing observers"),
      prop("follower.skipLearnerRequestToNextProcessor", "bool", "false", kOff,
           "followers skip passing learner requests down their pipeline"),
      prop("forward_learner_requests_to_commit_processor_disabled", "bool", "false", kOff,
           "the leader does not queue learner requests in its commit processor"),
      prop("commitLogCount", "int", "500", kOff,
           "committed proposals kept in memory for syncing followers"),
      prop("snapshotSizeFactor", "double", "0.33", kOff,
           "fraction of snapshot size above which followers sync by snapshot, not log"),

      // ---- security ----
      zk("sslQuorum", "bool", "false", kOn,
         "TLS on quorum and election connections (the quorum transport becomes tls)"),
      zk("portUnification", "bool", "false", kOff, "quorum port accepts both TLS and plaintext"),
      zk("sslQuorumReloadCertFiles", "bool", "false", kOff,
         "reload quorum key and trust stores when they change"),
      family("ssl.quorum.", "string", kOn, true,
             "TLS settings of quorum and election connections (the ssl.* keys of the tls "
             "transport, read from ssl.quorum.* for the quorum)"),
      family("ssl.", "string", kOff, true,
             "TLS settings for client (ssl.*) and quorum (ssl.quorum.*) connections"),
      prop("client.portUnification", "bool", "false", kOff,
           "client port accepts both TLS and plaintext"),
      family("authProvider.", "string", kOn, true,
             "authProvider.N=class: an extra authentication provider"),
      prop("DigestAuthenticationProvider.enabled", "bool", "true", kOn,
           "enable the digest authentication scheme"),
      prop("DigestAuthenticationProvider.superDigest", "string", "", kOn,
           "super:<digest> of the super user"),
      prop("DigestAuthenticationProvider.digestAlg", "string", "SHA1", kOff,
           "digest algorithm of the digest scheme"),
      prop("X509AuthenticationProvider.superUser", "string", "", kOn,
           "X.500 principal of the super user for the x509 scheme"),
      prop("SASLAuthenticationProvider.superPassword", "string", "", kOff,
           "password of the SASL super user"),
      prop("superUser", "string", "", kOff, "SASL user with super privileges"),
      family("superUser.", "string", kOff, true, "further SASL super users (superUser.N)"),
      prop("ensembleAuthName", "list", "", kOff,
           "names of this ensemble accepted by the ensemble scheme"),
      prop("sessionRequireClientSASLAuth", "bool", "false", kOff,
           "only SASL-authenticated clients may create sessions"),
      prop("enforce.auth.enabled", "bool", "false", kOff,
           "only authenticated clients may create sessions"),
      prop("enforce.auth.schemes", "list", "", kOff,
           "schemes accepted when enforce.auth.enabled is true"),
      prop("allowSaslFailedClients", "bool", "false", kOff,
           "let clients whose SASL authentication failed continue"),
      prop("kerberos.removeHostFromPrincipal", "bool", "false", kOff,
           "drop the host part of Kerberos principals"),
      prop("kerberos.removeRealmFromPrincipal", "bool", "false", kOff,
           "drop the realm part of Kerberos principals"),
      prop("kerberos.canonicalizeHostNames", "bool", "false", kOff,
           "canonicalise host names of server.N for Kerberos"),
      prop("sasl.serverconfig", "string", "Server", kOff, "JAAS section of the server login"),
      zk("quorum.auth.enableSasl", "bool", "false", kOff, "SASL between quorum peers"),
      zk("quorum.auth.serverRequireSasl", "bool", "false", kOff,
         "quorum servers require SASL from learners"),
      zk("quorum.auth.learnerRequireSasl", "bool", "false", kOff,
         "learners require SASL from quorum servers"),
      zk("quorum.auth.learner.saslLoginContext", "string", "QuorumLearner", kOff,
         "JAAS section of the learner login"),
      zk("quorum.auth.server.saslLoginContext", "string", "QuorumServer", kOff,
         "JAAS section of the quorum server login"),
      zk("quorum.auth.kerberos.servicePrincipal", "string", "zkquorum/localhost", kOff,
         "Kerberos service principal of quorum peers"),
      prop("skipACL", "yesno", "no", kOn, "skip ACL checks (yes or no)"),
      prop("enableEagerACLCheck", "bool", "false", kOff,
           "check ACLs of writes before they are proposed"),

      // ---- limits, throttling, caches ----
      prop("jute.maxbuffer.extrasize", "int", "", kOff,
           "extra bytes allowed for transaction headers; defaults to jute.maxbuffer"),
      prop("maxResponseCacheSize", "int", "400", kOff,
           "cached serialised getData responses; 0 or less disables"),
      prop("maxGetChildrenResponseCacheSize", "int", "400", kOff,
           "cached serialised getChildren responses; 0 or less disables"),
      prop("largeRequestMaxBytes", "int", "104857600", kOff,
           "bytes of large requests in flight before connections are closed"),
      prop("largeRequestThreshold", "int", "-1", kOff,
           "bytes from which a request counts as large; -1 = none"),
      prop("requestThrottleLimit", "int", "0", kOff,
           "documented name of request_throttle_max_requests"),
      prop("request_throttle_max_requests", "int", "0", kOff,
           "outstanding requests before the request throttler stalls; 0 = off"),
      prop("requestThrottleStallTime", "int", "100", kOff,
           "documented name of request_throttle_stall_time"),
      prop("request_throttle_stall_time", "int", "100", kOff,
           "ms a throttled request waits to proceed"),
      prop("requestThrottleDropStale", "bool", "true", kOff,
           "documented name of request_throttle_drop_stale"),
      prop("request_throttle_drop_stale", "bool", "true", kOff,
           "the throttler drops stale requests"),
      prop("requestStaleLatencyCheck", "bool", "false", kOff,
           "documented name of request_stale_latency_check"),
      prop("request_stale_latency_check", "bool", "false", kOff,
           "a request older than its session timeout is stale"),
      prop("requestStaleConnectionCheck", "bool", "true", kOff,
           "documented name of request_stale_connection_check"),
      prop("request_stale_connection_check", "bool", "true", kOff,
           "a request of a closed connection is stale"),
      prop("request_throttler.shutdownTimeout", "int", "10000", kOff,
           "ms the throttler drains its queue at shutdown"),
      prop("throttledOpWaitTime", "int", "0", kOff, "documented name of throttled_op_wait_time"),
      prop("throttled_op_wait_time", "int", "0", kOff,
           "ms in the throttler after which a request is answered THROTTLEDOP; 0 = off"),
      prop("connectionMaxTokens", "int", "0", kOff,
           "documented name of connection_throttle_tokens"),
      prop("connection_throttle_tokens", "int", "0", kOff,
           "token bucket size of the connection throttler; 0 = off"),
      prop("connectionTokenFillTime", "int", "1", kOff,
           "documented name of connection_throttle_fill_time"),
      prop("connection_throttle_fill_time", "int", "1", kOff,
           "ms between refills of the connection token bucket"),
      prop("connectionTokenFillCount", "int", "1", kOff,
           "documented name of connection_throttle_fill_count"),
      prop("connection_throttle_fill_count", "int", "1", kOff,
           "tokens added to the connection bucket per refill"),
      prop("connectionFreezeTime", "int", "-1", kOff,
           "documented name of connection_throttle_freeze_time"),
      prop("connection_throttle_freeze_time", "int", "-1", kOff,
           "ms between adjustments of the drop probability; -1 = no dropping"),
      prop("connectionDropIncrease", "double", "0.02", kOff,
           "documented name of connection_throttle_drop_increase"),
      prop("connection_throttle_drop_increase", "double", "0.02", kOff,
           "drop probability increase when the bucket is empty"),
      prop("connectionDropDecrease", "double", "0.002", kOff,
           "documented name of connection_throttle_drop_decrease"),
      prop("connection_throttle_drop_decrease", "double", "0.002", kOff,
           "drop probability decrease when the bucket has tokens"),
      prop("connectionDecreaseRatio", "double", "0", kOff,
           "documented name of connection_throttle_decrease_ratio"),
      prop("connection_throttle_decrease_ratio", "double", "0", kOff,
           "bucket fill ratio above which the drop probability decreases"),
      prop("connection_throttle_weight_enabled", "bool", "false", kOff,
           "weigh connections by session kind when throttling"),
      prop("connection_throttle_global_session_weight", "int", "3", kOff,
           "tokens a global session costs"),
      prop("connection_throttle_local_session_weight", "int", "1", kOff,
           "tokens a local session costs"),
      prop("connection_throttle_renew_session_weight", "int", "2", kOff,
           "tokens a session renewal costs"),

      // ---- storage and data tree ----
      prop("txnLogSizeLimitInKb", "long", "-1", kOff,
           "KiB after which the transaction log is rolled; -1 = off"),
      prop("fsync.warningthresholdms", "long", "1000", kOff,
           "log a warning when an fsync takes longer (ms)"),
      prop("flushDelay", "long", "0", kOff, "ms to delay flushing the transaction log; 0 = off"),
      prop("maxWriteQueuePollTime", "long", "", kOff,
           "ms to wait for more writes before flushing; defaults to flushDelay / 3"),
      prop("snapshot.compression.method", "string", "", kOff,
           "snapshot compression: empty, gz or snappy"),
      prop("snapshot.trust.empty", "bool", "false", kOff,
           "start without a snapshot when transaction logs exist"),
      prop("datadir.autocreate", "bool", "true", kOff, "create missing data directories"),
      prop("db.autocreate", "bool", "true", kOff,
           "start with an empty database when none is found"),
      prop("extendedTypesEnabled", "bool", "false", kOn, "enable TTL nodes"),
      prop("emulate353TTLNodes", "bool", "false", kOff,
           "read TTL nodes as ZooKeeper 3.5.3 made them"),
      prop("enforceQuota", "bool", "false", kOn, "reject writes that exceed hard quotas"),
      prop("closeSessionTxn.enabled", "bool", "true", kOff,
           "close-session transactions list the ephemerals they delete"),
      zk("znode.container.checkIntervalMs", "int", "60000", kOn,
         "ms between checks for empty container and expired TTL nodes"),
      zk("znode.container.maxPerMinute", "int", "10000", kOn,
         "container and TTL nodes deleted per minute at most"),
      zk("znode.container.maxNeverUsedIntervalMs", "long", "0", kOn,
         "ms after which a container that never had children is deleted; 0 = never"),

      // ---- watches ----
      prop("watchManagerName", "string", "", kOff, "watch manager class"),
      prop("watcherCleanThreadsNum", "int", "2", kOff, "threads cleaning dead watchers"),
      prop("watcherCleanThreshold", "int", "1000", kOff, "dead watchers cleaned in one batch"),
      prop("watcherCleanIntervalInSeconds", "int", "600", kOff,
           "seconds between dead watcher cleanups"),
      prop("maxInProcessingDeadWatchers", "int", "-1", kOff,
           "dead watchers queued for cleaning; -1 = no limit"),
      prop("bitHashCacheSize", "int", "10", kOff, "cache size of the watch manager's bit sets"),

      // ---- threads and network internals ----
      prop("serverCnxnFactory", "string", "", kOff,
           "client connection implementation (NIO or Netty class)"),
      prop("clientTcpKeepAlive", "bool", "false", kOff, "TCP keep-alive on client sockets"),
      prop("nio.numSelectorThreads", "int", "", kOff, "NIO selector threads"),
      prop("nio.numWorkerThreads", "int", "", kOff, "NIO worker threads"),
      prop("nio.directBufferBytes", "int", "65536", kOff, "direct buffer per NIO worker thread"),
      prop("nio.sessionlessCnxnTimeout", "int", "10000", kOff,
           "ms a connection may stay without a session"),
      prop("nio.shutdownTimeout", "long", "5000", kOff, "ms to wait for NIO workers at shutdown"),
      prop("commitProcessor.numWorkerThreads", "int", "", kOff, "commit processor worker threads"),
      prop("commitProcessor.shutdownTimeout", "long", "5000", kOff,
           "ms to wait for commit processor workers at shutdown"),
      prop("commitProcessor.maxReadBatchSize", "int", "-1", kOff,
           "reads processed before switching to commits; -1 = switch on any local write"),
      prop("commitProcessor.maxCommitBatchSize", "int", "1", kOff,
           "commits processed before switching to reads"),
      prop("intBufferStartingSizeBytes", "int", "1024", kOff,
           "initial size of per-connection buffers"),
      prop("advancedFlowControlEnabled", "bool", "false", kOff,
           "documented name of netty.advancedFlowControl.enabled"),
      prop("netty.advancedFlowControl.enabled", "bool", "false", kOff,
           "Netty reads only when the pipeline has room"),
      prop("outstandingHandshake.limit", "int", "", kOff,
           "documented name of netty.server.outstandingHandshake.limit"),
      prop("netty.server.outstandingHandshake.limit", "int", "", kOff,
           "TLS handshakes in flight before new ones are refused"),
      prop("netty.server.earlyDropSecureConnectionHandshakes", "bool", "false", kOff,
           "drop TLS connections before the server has started"),

      // ---- observability and administration ----
      zk("metricsProvider.className", "string", "", kOn,
         "metrics provider; ZooKeeper's PrometheusMetricsProvider adds a /metrics endpoint on "
         "metricsProvider.httpHost:httpPort"),
      zk("metricsProvider.httpHost", "addr", "0.0.0.0", kOn,
         "address of the PrometheusMetricsProvider /metrics endpoint"),
      zk("metricsProvider.httpPort", "int", "7000", kOn,
         "port of the PrometheusMetricsProvider /metrics endpoint"),
      family("metricsProvider.", "string", kOff, false,
             "further settings of the metrics provider (exportJvmInfo ...)"),
      prop("admin.enableServer", "bool", "true", kOn,
           "run the HTTP AdminServer (JSON commands and Prometheus /metrics)"),
      prop("admin.serverAddress", "addr", "0.0.0.0", kOn, "address of the AdminServer"),
      prop("admin.serverPort", "int", "8080", kOn, "port of the AdminServer; 0 = any free port"),
      prop("admin.idleTimeout", "int", "30000", kOn,
           "ms an AdminServer connection may idle (at most 5000 in Paddock)"),
      prop("admin.commandURL", "string", "/commands", kOn, "URL path of AdminServer commands"),
      prop("admin.httpVersion", "int", "11", kOff, "HTTP version of the AdminServer"),
      prop("admin.forceHttps", "bool", "false", kOn,
           "the AdminServer accepts only HTTPS; Paddock's has no HTTPS, so true keeps it off"),
      prop("admin.portUnification", "bool", "false", kOff,
           "the AdminServer port accepts both HTTP and HTTPS"),
      prop("audit.enable", "bool", "false", kOff, "write audit logs"),
      prop("audit.impl.class", "string", "", kOff, "audit logger class"),
      prop("messageTracker.BufferSize", "int", "10", kOff,
           "leader messages a learner remembers for debugging"),
      prop("messageTracker.Enabled", "bool", "false", kOff,
           "remember recent leader messages for debugging"),
      family("pathStats.", "string", kOff, true, "per-path request statistics settings"),
      zk("jvm.pause.monitor", "bool", "false", kOff, "log JVM pauses"),
      zk("jvm.pause.info-threshold.ms", "long", "1000", kOff, "pause (ms) logged at info level"),
      zk("jvm.pause.warn-threshold.ms", "long", "10000", kOff, "pause (ms) logged as a warning"),
      zk("jvm.pause.sleep.time.ms", "long", "500", kOff, "ms between JVM pause checks"),
  };
}

// ---- small text helpers ----

bool is_java_ws(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Java's String.trim(): drops every character <= ' ' at both ends.
std::string_view java_trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Properties.loadConvert: resolves \t \n \r \f \uXXXX and \<any> (= the character itself).
// Returns false, with `bad` set to the offending text, on a malformed \u escape.
bool unescape(std::string_view in, std::string& out, std::string& bad) {
  out.clear();
  uint32_t pending_high = 0;  // a UTF-16 high surrogate waiting for its low half
  auto flush_high = [&] {
    if (pending_high != 0) append_utf8(out, pending_high);
    pending_high = 0;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 >= in.size()) {
      flush_high();
      out += c;
      continue;
    }
    char e = in[++i];
    if (e == 'u') {
      uint32_t unit = 0;
      for (int k = 1; k <= 4; ++k) {
        int d = i + k < in.size() ? hex_digit(in[i + k]) : -1;
        if (d < 0) {
          bad = std::string(in.substr(i - 1, std::min<size_t>(6, in.size() - (i - 1))));
          return false;
        }
        unit = unit * 16 + static_cast<uint32_t>(d);
      }
      i += 4;
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        flush_high();
        pending_high = unit;
      } else if (unit >= 0xDC00 && unit <= 0xDFFF && pending_high != 0) {
        append_utf8(out, 0x10000 + ((pending_high - 0xD800) << 10) + (unit - 0xDC00));
        pending_high = 0;
      } else {
        flush_high();
        append_utf8(out, unit);
      }
      continue;
    }
    flush_high();
    switch (e) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      default: out += e; break;
    }
  }
  flush_high();
  return true;
}

// ---- numbers, as Java parses them ----

// Integer.parseInt / Long.parseLong (decimal, optional sign) or, with `decode`, Integer.decode /
// Long.decode (also 0x, 0X and # hexadecimal and 0-prefixed octal), which Integer.getInteger
// uses for system properties.
std::optional<int64_t> parse_java_integer(std::string_view s, bool decode) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (decode) {
    if (s.starts_with("0x") || s.starts_with("0X")) {
      base = 16;
      s.remove_prefix(2);
    } else if (s.starts_with("#")) {
      base = 16;
      s.remove_prefix(1);
    } else if (s.size() > 1 && s[0] == '0') {
      base = 8;
      s.remove_prefix(1);
    }
  }
  if (s.empty()) return std::nullopt;
  // Accumulate as a negative number so INT64_MIN fits.
  int64_t value = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0 || d >= base) return std::nullopt;
    if (value < (kMin + d) / base) return std::nullopt;
    value = value * base - d;
  }
  if (!negative) {
    if (value == kMin) return std::nullopt;
    value = -value;
  }
  return value;
}

std::optional<double> parse_java_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (iequals(s, "true")) return true;
  if (iequals(s, "false")) return false;
  return std::nullopt;
}

// ---- four-letter words ----

constexpr std::string_view kFourLetterWords[] = {
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
    "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
};

bool is_four_letter_word(std::string_view w) {
  return std::find(std::begin(kFourLetterWords), std::end(kFourLetterWords), w) !=
         std::end(kFourLetterWords);
}

// Splits on commas and whitespace, dropping empty items.
std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> items;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || static_cast<unsigned char>(s[i]) <= ' ')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ',' && static_cast<unsigned char>(s[i]) > ' ') ++i;
    if (i > start) items.push_back(s.substr(start, i - start));
  }
  return items;
}

// ---- processors ----

constexpr std::string_view kProcessorPoints[] = {"beforePrep", "afterPrep", "afterCommit",
                                                 "afterFinal"};
constexpr std::string_view kProcessorsExpected =
    "a comma-separated list of point:name with point one of beforePrep, afterPrep, "
    "afterCommit, afterFinal";

// Parses paddock.processors into "point:name" items; nullopt if any item is malformed.
std::optional<std::vector<std::string>> parse_processors(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = java_trim(value.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    size_t colon = item.find(':');
    std::string_view point =
        colon == std::string_view::npos ? item : java_trim(item.substr(0, colon));
    std::string_view name =
        colon == std::string_view::npos ? std::string_view{} : java_trim(item.substr(colon + 1));
    bool point_ok = std::find(std::begin(kProcessorPoints), std::end(kProcessorPoints), point) !=
                    std::end(kProcessorPoints);
    bool name_ok = !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
      return static_cast<unsigned char>(c) <= ' ' || c == ':';
    });
    if (!point_ok || !name_ok) return std::nullopt;
    out.push_back(std::string(point) + ":" + std::string(name));
  }
  return out;
}

bool is_plugin_name(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == ',' || c == ':' || c == '/';
  });
}

// ---- key lookup ----

struct KeyIndex {
  std::unordered_map<std::string_view, const KeyDecl*> exact;
  std::vector<const KeyDecl*> prefixes;
};

const KeyIndex& key_index() {
  static const KeyIndex index = [] {
    KeyIndex idx;
    for (const KeyDecl& d : core_keys()) {
      if (d.is_prefix) {
        idx.prefixes.push_back(&d);
      } else {
        idx.exact.emplace(d.name, &d);
      }
    }
    return idx;
  }();
  return index;
}

const KeyDecl* find_decl(std::string_view key) {
  const KeyIndex& idx = key_index();
  if (auto it = idx.exact.find(key); it != idx.exact.end()) return it->second;
  // The longest matching family wins (ssl.quorum. before ssl.).
  const KeyDecl* best = nullptr;
  for (const KeyDecl* d : idx.prefixes) {
    if (key.size() > d->name.size() && key.starts_with(d->name) &&
        (best == nullptr || d->name.size() > best->name.size())) {
      best = d;
    }
  }
  return best;
}

struct CoreMatch {
  const KeyDecl* decl = nullptr;
  std::string canonical;  // the key without an accepted "zookeeper." prefix
};

CoreMatch match_core_key(std::string_view key) {
  if (const KeyDecl* d = find_decl(key)) return {d, std::string(key)};
  if (key.starts_with(kZkPrefix)) {
    std::string_view rest = key.substr(kZkPrefix.size());
    if (const KeyDecl* d = find_decl(rest); d != nullptr && d->zookeeper_alias) {
      return {d, std::string(rest)};
    }
  }
  return {};
}

// Levenshtein distance, ignoring case.
size_t edit_distance(std::string_view a_in, std::string_view b_in) {
  std::string a = lower(a_in), b = lower(b_in);
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest known key within edit distance 2, or "".
std::string suggest_key(std::string_view key, const std::vector<sdk::ConfigKeyDecl>& plugin_keys) {
  constexpr size_t kMaxDistance = 2;
  size_t best_distance = kMaxDistance + 1;
  std::string best;
  auto consider = [&](std::string_view typed, std::string_view candidate, std::string shown) {
    size_t d = edit_distance(typed, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::move(shown);
    }
  };
  std::string_view stripped =
      key.starts_with(kZkPrefix) ? key.substr(kZkPrefix.size()) : std::string_view{};
  for (const KeyDecl& d : core_keys()) {
    if (d.is_prefix) {
      // "servr.1" -> "server.1": compare the first segment with the family prefix.
      size_t dot = key.find('.');
      if (dot != std::string_view::npos && dot + 1 < key.size()) {
        consider(key.substr(0, dot + 1), d.name,
                 std::string(d.name) + std::string(key.substr(dot + 1)));
      }
      continue;
    }
    consider(key, d.name, std::string(d.name));
    if (!stripped.empty()) consider(stripped, d.name, std::string(d.name));
  }
  for (const sdk::ConfigKeyDecl& p : plugin_keys) {
    if (p.name != nullptr) consider(key, p.name, p.name);
  }
  return best;
}

// ---- value checks ----

// Whether ZooKeeper reads the key's number with Integer.getInteger / Long.getLong, whose
// Integer.decode syntax also takes 0x / # hexadecimal and 0-prefixed octal ("010" is 8), rather
// than with Integer.parseInt ("010" is 10). preAllocSize is a property read with parseLong.
bool uses_decode_syntax(const KeyDecl& d) {
  if (d.name == "preAllocSize") return false;
  return d.zookeeper_alias || d.name == "jute.maxbuffer" || d.name.starts_with("znode.container.");
}

struct IntRule {
  std::string_view key;
  int64_t min;
  int64_t max;
  std::string_view expected;
};

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kMaxTickTime = kInt32Max / 20;  // 20 x tickTime must fit in 32 bits

constexpr IntRule kIntRules[] = {
    {"tickTime", 1, kMaxTickTime, "a positive number of milliseconds up to 107374182"},
    {"clientPort", 0, 65535, "a port number from 0 to 65535"},
    {"secureClientPort", 0, 65535, "a port number from 0 to 65535"},
    {"observerMasterPort", 0, 65535, "a port number from 0 to 65535"},
    {"admin.serverPort", 0, 65535, "a port number from 0 to 65535"},
    {"admin.idleTimeout", 0, kInt32Max, "a non-negative number of milliseconds"},
    {"metricsProvider.httpPort", 0, 65535, "a port number from 0 to 65535"},
    {"maxClientCnxns", 0, kInt32Max, "a non-negative integer"},
    {"minSessionTimeout", -1, kInt32Max, "a number of milliseconds (or -1 for the default)"},
    {"maxSessionTimeout", -1, kInt32Max, "a number of milliseconds (or -1 for the default)"},
    {"jute.maxbuffer", 1, kInt32Max, "a positive number of bytes"},
    {"globalOutstandingLimit", 0, kInt32Max, "a non-negative integer"},
    {"maxBatchSize", 1, kInt32Max, "a positive integer"},
    {"preAllocSize", 0, std::numeric_limits<int64_t>::max() / 1024, "a non-negative number of KiB"},
    {"paddock.ioThreads", 0, 4096, "a number of threads from 0 to 4096"},
    {"testingonly.initialZxid", 0, 0xfffffffeLL, "a zxid counter from 0 to 4294967294"},
    {"electionAlg", 3, 3, "3 (fast leader election, the only algorithm since ZooKeeper 3.6)"},
};

const IntRule* find_int_rule(std::string_view key) {
  for (const IntRule& r : kIntRules) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

// What a value of `type` must look like; nullopt when `value` is fine.
std::optional<std::string> check_typed(std::string_view type, std::string_view key,
                                       std::string_view value, bool decode) {
  if (type == "int" || type == "long") {
    std::optional<int64_t> v = parse_java_integer(value, decode);
    if (const IntRule* rule = find_int_rule(key)) {
      if (!v || *v < rule->min || *v > rule->max) return std::string(rule->expected);
      return std::nullopt;
    }
    if (!v) return std::string("an integer");
    if (type == "int" && (*v < kInt32Min || *v > kInt32Max)) {
      return std::string("an integer from -2147483648 to 2147483647");
    }
    return std::nullopt;
  }
  if (type == "bool") {
    if (!parse_bool(value)) return std::string("'true' or 'false'");
    return std::nullopt;
  }
  if (type == "yesno") {
    if (value != "yes" && value != "no") return std::string("'yes' or 'no'");
    return std::nullopt;
  }
  if (type == "double") {
    if (!parse_java_double(value)) return std::string("a number");
    return std::nullopt;
  }
  return std::nullopt;
}

// Checks of a key's name beyond matching the table: server.N, group.N and weight.N need an
// integer N. Returns {expected, found}.
std::optional<std::pair<std::string, std::string>> check_key_name(const KeyDecl& decl,
                                                                  std::string_view canonical) {
  if (decl.name == "server." || decl.name == "group." || decl.name == "weight.") {
    std::string_view n = canonical.substr(decl.name.size());
    bool digits =
        !n.empty() && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || !parse_java_integer(n, false)) {
      std::string what = decl.name == "group." ? "group id" : "server id";
      return std::make_pair("an integer " + what + " after '" + std::string(decl.name) + "'",
                            std::string(n));
    }
  }
  return std::nullopt;
}

// Value checks for core keys: the type, then the key's own rules.
std::optional<std::string> check_core_value(const KeyDecl& decl, std::string_view canonical,
                                            std::string_view value) {
  std::string_view key = canonical;
  if (decl.name == "group.") {
    bool ok = !value.empty();
    size_t start = 0;
    while (ok && start <= value.size()) {
      size_t colon = value.find(':', start);
      if (colon == std::string_view::npos) colon = value.size();
      std::string_view id = value.substr(start, colon - start);
      ok = !id.empty() && parse_java_integer(id, false).has_value();
      start = colon + 1;
    }
    if (!ok) return std::string("a colon-separated list of server ids");
    return std::nullopt;
  }
  if (decl.name == "weight.") {
    if (!parse_java_integer(value, false)) return std::string("an integer weight");
    return std::nullopt;
  }
  if (key == "version") {
    if (!parse_java_integer("0x" + std::string(value), true)) {
      return std::string("a hexadecimal version number");
    }
    return std::nullopt;
  }
  if (key == "dataDir" || key == "dataLogDir") {
    if (value.empty()) return std::string("a directory path");
    return std::nullopt;
  }
  if (key == "peerType") {
    if (!iequals(value, "participant") && !iequals(value, "observer")) {
      return std::string("'participant' or 'observer'");
    }
    return std::nullopt;
  }
  if (key == "paddock.logLevel") {
    std::string l = lower(value);
    if (l != "trace" && l != "debug" && l != "info" && l != "warn" && l != "error") {
      return std::string("one of trace, debug, info, warn, error");
    }
    return std::nullopt;
  }
  if (key == "paddock.storage" || key == "paddock.transport" || key == "paddock.secureTransport" ||
      key == "paddock.election" || key == "paddock.quorumTransport") {
    if (!is_plugin_name(value)) return std::string("a plugin name");
    return std::nullopt;
  }
  if (key == "paddock.processors") {
    if (!parse_processors(value)) return std::string(kProcessorsExpected);
    return std::nullopt;
  }
  return check_typed(decl.type, key, value, uses_decode_syntax(decl));
}

std::optional<std::string> check_plugin_value(const sdk::ConfigKeyDecl& decl,
                                              std::string_view value) {
  std::string_view type = decl.type != nullptr ? decl.type : "string";
  return check_typed(type, decl.name, value, false);
}

std::string at(const std::string& path, int line) {
  return path + ":" + std::to_string(line) + ": ";
}

sdk::Status value_error(const std::string& path, const Entry& e, std::string_view expected,
                        std::string_view found) {
  return sdk::Status::error(at(path, e.line) + e.key + ": " + std::string(expected) + ", found '" +
                            std::string(found) + "'");
}

int64_t as_int(std::string_view value, bool decode) {
  return parse_java_integer(value, decode).value_or(0);
}

bool is_auth_provider_key(std::string_view key) {
  if (key.starts_with(kZkPrefix)) key.remove_prefix(kZkPrefix.size());
  return key.starts_with("authProvider.") && key.size() > std::string_view("authProvider.").size();
}

// Reads the paddock.* plugin keys (shared by plugin_choice and load).
sdk::Status read_plugin_choice(const ConfigFile& file, PluginChoice& choice) {
  choice.plugin_dir.clear();
  choice.storage = "file";
  choice.client_transport = "tcp";
  choice.secure_transport.clear();
  choice.processors.clear();
  if (const Entry* e = file.find("paddock.pluginDir")) choice.plugin_dir = e->value;
  if (const Entry* e = file.find("paddock.storage")) {
    if (!is_plugin_name(e->value)) return value_error(file.path(), *e, "a plugin name", e->value);
    choice.storage = e->value;
  }
  if (const Entry* e = file.find("paddock.transport")) {
    if (!is_plugin_name(e->value)) return value_error(file.path(), *e, "a plugin name", e->value);
    choice.client_transport = e->value;
  }
  // The secure transport is loaded only when there is a secure port to serve.
  if (const Entry* port = file.find("secureClientPort"); port && !port->value.empty()) {
    choice.secure_transport = "tls";
    if (const Entry* e = file.find("paddock.secureTransport")) {
      if (!is_plugin_name(e->value)) return value_error(file.path(), *e, "a plugin name", e->value);
      choice.secure_transport = e->value;
    }
  }
  if (const Entry* e = file.find("paddock.processors")) {
    auto processors = parse_processors(e->value);
    if (!processors) return value_error(file.path(), *e, kProcessorsExpected, e->value);
    choice.processors = std::move(*processors);
  }
  // authProvider.<n>: the last line of each key counts; every named plugin is loaded once.
  std::map<std::string, std::string> providers;
  for (const Entry& e : file.entries()) {
    if (!is_auth_provider_key(e.key)) continue;
    std::string_view k = e.key;
    if (k.starts_with(kZkPrefix)) k.remove_prefix(kZkPrefix.size());
    providers[std::string(k)] = e.value;
  }
  choice.auth_providers.clear();
  for (const auto& [key, value] : providers) {
    std::string name = auth_plugin_for(value);
    if (name.empty()) continue;
    if (!is_plugin_name(name)) {
      const Entry* e = file.find(key);
      if (e == nullptr) e = file.find(std::string(kZkPrefix) + key);
      return value_error(file.path(), *e, "an auth provider class or plugin name", value);
    }
    if (std::find(choice.auth_providers.begin(), choice.auth_providers.end(), name) ==
        choice.auth_providers.end()) {
      choice.auth_providers.push_back(name);
    }
  }
  return sdk::Status::ok();
}

// Java's Properties.LineReader (JDK 9 and later): joins continued lines, drops comments and
// blank lines, and yields one logical line at a time, with the number of the natural line its
// first character is on.
class LogicalLineReader {
 public:
  explicit LogicalLineReader(std::string_view text) : text_(text) {}

  bool next(std::string& out, int& first_line) {
    out.clear();
    bool skip_whitespace = true;
    bool appended_line_begin = false;  // just after a continuation: a line end ends the entry
    bool preceding_backslash = false;
    for (;;) {
      if (off_ >= text_.size()) {
        if (out.empty()) return false;
        if (preceding_backslash) out.pop_back();
        return true;
      }
      int line = line_;
      char c = take();
      if (skip_whitespace) {
        if (is_java_ws(c)) continue;
        if (!appended_line_begin && (c == '\r' || c == '\n')) continue;
        skip_whitespace = false;
        appended_line_begin = false;
      }
      if (out.empty() && (c == '#' || c == '!')) {  // a comment, up to the end of the line
        while (off_ < text_.size()) {
          char d = take();
          if (d == '\r' || d == '\n') break;
        }
        skip_whitespace = true;
        continue;
      }
      if (c != '\n' && c != '\r') {
        if (out.empty()) first_line = line;
        out += c;
        preceding_backslash = c == '\\' ? !preceding_backslash : false;
        continue;
      }
      if (out.empty()) {  // nothing yet (a continued line held only the backslash)
        skip_whitespace = true;
        continue;
      }
      if (!preceding_backslash || off_ >= text_.size()) {
        if (preceding_backslash) out.pop_back();
        return true;
      }
      out.pop_back();  // the backslash that continues the line
      skip_whitespace = true;
      appended_line_begin = true;
      preceding_backslash = false;
      if (c == '\r' && off_ < text_.size() && text_[off_] == '\n') take();
    }
  }

 private:
  // The next character, counting lines (\n, \r and \r\n each end one).
  char take() {
    char c = text_[off_++];
    if (c == '\r' || (c == '\n' && (off_ < 2 || text_[off_ - 2] != '\r'))) ++line_;
    return c;
  }

  std::string_view text_;
  size_t off_ = 0;
  int line_ = 1;
};

}  // namespace

const std::vector<KeyDecl>& core_keys() {
  static const std::vector<KeyDecl> keys = make_core_keys();
  return keys;
}

// ---- ConfigFile ----

sdk::Result<ConfigFile> ConfigFile::parse(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sdk::Status::error(path + ": " + std::strerror(errno));
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return sdk::Status::error(path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_text(path, text);
}

sdk::Result<ConfigFile> ConfigFile::parse_text(const std::string& path, std::string_view text) {
  ConfigFile file;
  file.path_ = path;

  LogicalLineReader reader(text);
  std::string logical, key, value, bad;
  int first_line = 0;
  while (reader.next(logical, first_line)) {
    // The key ends at the first unescaped '=', ':' or whitespace.
    std::string_view line = logical;
    size_t key_end = line.size(), value_start = line.size();
    bool has_separator = false, escaped = false;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (!escaped && (c == '=' || c == ':')) {
        key_end = i;
        value_start = i + 1;
        has_separator = true;
        break;
      }
      if (!escaped && is_java_ws(c)) {
        key_end = i;
        value_start = i + 1;
        break;
      }
      escaped = c == '\\' ? !escaped : false;
    }
    // Whitespace, at most one '=' or ':' (if none came yet), whitespace.
    while (value_start < line.size()) {
      char c = line[value_start];
      if (!is_java_ws(c)) {
        if (!has_separator && (c == '=' || c == ':')) {
          has_separator = true;
        } else {
          break;
        }
      }
      ++value_start;
    }
    if (!unescape(line.substr(0, key_end), key, bad) ||
        !unescape(line.substr(value_start), value, bad)) {
      return sdk::Status::error(at(path, first_line) +
                                "a \\uXXXX escape with four hexadecimal digits, found '" + bad +
                                "'");
    }
    file.entries_.push_back(
        Entry{std::string(java_trim(key)), std::string(java_trim(value)), first_line});
  }
  return file;
}

const Entry* ConfigFile::find(std::string_view key) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->key == key) return &*it;
  }
  return nullptr;
}

// ---- validation ----

std::string auth_plugin_for(std::string_view value) {
  value = java_trim(value);
  size_t dot = value.rfind('.');
  if (dot == std::string_view::npos) return std::string(value);  // a plugin name
  std::string_view cls = value.substr(dot + 1);
  constexpr std::string_view kSuffix = "AuthenticationProvider";
  if (cls.ends_with(kSuffix)) cls.remove_suffix(kSuffix.size());
  std::string name = lower(cls);
  // Built into the server, or (SASL) not offered.
  if (name == "digest" || name == "ip" || name == "sasl") return "";
  return name;
}

sdk::Result<PluginChoice> plugin_choice(const ConfigFile& file) {
  PluginChoice choice;
  if (sdk::Status s = read_plugin_choice(file, choice); !s) return s;
  return choice;
}

sdk::Result<ServerConfig> load(const ConfigFile& file,
                               const std::vector<sdk::ConfigKeyDecl>& plugin_keys) {
  const std::string& path = file.path();
  const std::vector<Entry>& entries = file.entries();

  std::unordered_map<std::string_view, const sdk::ConfigKeyDecl*> plugin_index;
  for (const sdk::ConfigKeyDecl& p : plugin_keys) {
    if (p.name != nullptr) plugin_index.emplace(p.name, &p);
  }

  // Resolve every entry; the last entry of a key (either spelling) is the one that counts.
  struct Resolved {
    const KeyDecl* core = nullptr;
    const sdk::ConfigKeyDecl* plugin = nullptr;
    std::string canonical;
  };
  std::vector<Resolved> resolved(entries.size());
  std::unordered_map<std::string, size_t> winner;  // canonical key -> entry index
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    CoreMatch m = match_core_key(e.key);
    auto plugin_it = plugin_index.find(e.key);
    // A key a loaded plugin declares by name (ssl.keyStore.location for the tls transport,
    // observer.election.DelayMs for the observer role) belongs to that plugin, not to the
    // core's accepted-but-ignored keys.
    if (m.decl != nullptr && (m.decl->is_prefix || m.decl->use == KeyUse::kIgnored) &&
        plugin_it != plugin_index.end()) {
      m.decl = nullptr;
    }
    if (m.decl != nullptr) {
      resolved[i] = {m.decl, nullptr, std::move(m.canonical)};
    } else if (plugin_it != plugin_index.end()) {
      resolved[i] = {nullptr, plugin_it->second, e.key};
    } else {
      continue;
    }
    winner[resolved[i].canonical] = i;
  }

  // Check entries in file order; the first problem is the one reported.
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const Resolved& r = resolved[i];
    if (r.core == nullptr && r.plugin == nullptr) {
      if (e.key.empty()) {
        return sdk::Status::error(at(path, e.line) + "a key before the value, found '" + e.value +
                                  "'");
      }
      std::string message = at(path, e.line) + e.key + ": unknown configuration key";
      std::string suggestion = suggest_key(e.key, plugin_keys);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      return sdk::Status::error(message);
    }
    if (r.core != nullptr) {
      if (auto bad = check_key_name(*r.core, r.canonical)) {
        return value_error(path, e, bad->first, bad->second);
      }
    }
    if (winner[r.canonical] != i) continue;  // overridden by a later line, as in ZooKeeper
    std::optional<std::string> expected = r.core != nullptr
                                              ? check_core_value(*r.core, r.canonical, e.value)
                                              : check_plugin_value(*r.plugin, e.value);
    if (expected) return value_error(path, e, *expected, e.value);
  }

  ServerConfig cfg;
  cfg.config_path = path;
  for (const Entry& e : entries) cfg.values[e.key] = e.value;

  auto get = [&](std::string_view canonical) -> const Entry* {
    auto it = winner.find(std::string(canonical));
    return it == winner.end() ? nullptr : &entries[it->second];
  };
  auto get_int = [&](std::string_view canonical, auto& field) {
    if (const Entry* e = get(canonical)) {
      const KeyDecl* d = find_decl(canonical);
      field = static_cast<std::remove_reference_t<decltype(field)>>(
          as_int(e->value, d != nullptr && uses_decode_syntax(*d)));
      return e;
    }
    return static_cast<const Entry*>(nullptr);
  };
  auto warn = [&](const Entry& e, const std::string& text) {
    cfg.warnings.push_back(at(path, e.line) + e.key + ": " + text);
  };

  // Required and derived values.
  const Entry* data_dir = get("dataDir");
  if (data_dir == nullptr) return sdk::Status::error(path + ": dataDir: required key is missing");
  cfg.data_dir = data_dir->value;
  const Entry* data_log_dir = get("dataLogDir");
  cfg.data_log_dir = data_log_dir != nullptr ? data_log_dir->value : cfg.data_dir;

  get_int("tickTime", cfg.tick_time_ms);
  cfg.client_port_set = get_int("clientPort", cfg.client_port) != nullptr;
  if (const Entry* e = get("clientPortAddress")) cfg.client_port_address = e->value;
  get_int("secureClientPort", cfg.secure_client_port);
  cfg.secure_client_port_address = cfg.client_port_address;
  if (const Entry* e = get("secureClientPortAddress")) cfg.secure_client_port_address = e->value;
  get_int("maxClientCnxns", cfg.max_client_cnxns);

  int32_t min_timeout = -1, max_timeout = -1;
  const Entry* min_entry = get_int("minSessionTimeout", min_timeout);
  const Entry* max_entry = get_int("maxSessionTimeout", max_timeout);
  cfg.min_session_timeout_ms = min_timeout == -1 ? 2 * cfg.tick_time_ms : min_timeout;
  cfg.max_session_timeout_ms = max_timeout == -1 ? 20 * cfg.tick_time_ms : max_timeout;
  if (cfg.min_session_timeout_ms > cfg.max_session_timeout_ms) {
    if (min_entry != nullptr && min_timeout != -1) {
      return value_error(
          path, *min_entry,
          "at most maxSessionTimeout (" + std::to_string(cfg.max_session_timeout_ms) + ")",
          min_entry->value);
    }
    return value_error(
        path, *max_entry,
        "at least minSessionTimeout (" + std::to_string(cfg.min_session_timeout_ms) + ")",
        max_entry->value);
  }

  get_int("jute.maxbuffer", cfg.jute_max_buffer);
  if (const Entry* e = get_int("snapCount", cfg.snap_count); e != nullptr && cfg.snap_count < 2) {
    warn(*e, "below the minimum of 2, using 2 (as ZooKeeper does)");
    cfg.snap_count = 2;
  }
  get_int("snapSizeLimitInKb", cfg.snap_size_limit_kb);
  if (const Entry* e = get_int("autopurge.snapRetainCount", cfg.autopurge_snap_retain_count);
      e != nullptr && cfg.autopurge_snap_retain_count < 3) {
    warn(*e, "below the minimum of 3, using 3 (as ZooKeeper does)");
    cfg.autopurge_snap_retain_count = 3;
  }
  get_int("autopurge.purgeInterval", cfg.autopurge_purge_interval_hours);
  if (cfg.autopurge_purge_interval_hours < 0) cfg.autopurge_purge_interval_hours = 0;
  get_int("preAllocSize", cfg.pre_alloc_size_kb);
  if (const Entry* e = get("forceSync")) cfg.force_sync = e->value == "yes";
  get_int("globalOutstandingLimit", cfg.global_outstanding_limit);
  get_int("maxBatchSize", cfg.max_batch_size);
  get_int("testingonly.initialZxid", cfg.initial_zxid_counter);
  if (const Entry* e = get("digest.enabled")) cfg.digest_enabled = *parse_bool(e->value);

  // Four-letter words: ZooKeeper always enables srvr, and isro in read-only mode.
  cfg.four_letter_words = {"srvr"};
  if (const Entry* e = get("4lw.commands.whitelist")) {
    for (std::string_view word : split_list(e->value)) {
      if (word == "*") {
        cfg.four_letter_words.insert(std::begin(kFourLetterWords), std::end(kFourLetterWords));
      } else if (is_four_letter_word(word)) {
        cfg.four_letter_words.emplace(word);
      } else {
        warn(*e, "'" + std::string(word) + "' is not a four-letter word command, ignored");
      }
    }
  }
  if (const Entry* e = get("readonlymode.enabled"); e != nullptr && *parse_bool(e->value)) {
    cfg.four_letter_words.insert("isro");
    cfg.read_only_mode = true;
  }

  // ACLs and authentication.
  if (const Entry* e = get("DigestAuthenticationProvider.superDigest")) cfg.super_digest = e->value;
  if (const Entry* e = get("X509AuthenticationProvider.superUser")) cfg.x509_super_user = e->value;
  if (const Entry* e = get("DigestAuthenticationProvider.enabled")) {
    cfg.digest_auth_enabled = *parse_bool(e->value);
  }
  if (const Entry* e = get("skipACL")) cfg.skip_acl = e->value == "yes";
  // Node types and quotas.
  if (const Entry* e = get("extendedTypesEnabled")) cfg.extended_types_enabled = *parse_bool(e->value);
  if (const Entry* e = get("enforceQuota")) cfg.enforce_quota = *parse_bool(e->value);
  get_int("znode.container.checkIntervalMs", cfg.container_check_interval_ms);
  get_int("znode.container.maxPerMinute", cfg.container_max_per_minute);
  get_int("znode.container.maxNeverUsedIntervalMs", cfg.container_max_never_used_ms);
  if (const Entry* e = get("znode.container.checkIntervalMs"); e && cfg.container_check_interval_ms <= 0) {
    return value_error(path, *e, "a positive number of milliseconds", e->value);
  }
  if (const Entry* e = get("znode.container.maxPerMinute"); e && cfg.container_max_per_minute <= 0) {
    return value_error(path, *e, "a positive number", e->value);
  }

  // AdminServer and the Prometheus provider's endpoint.
  if (const Entry* e = get("admin.enableServer")) cfg.admin_enable_server = *parse_bool(e->value);
  if (const Entry* e = get("admin.forceHttps"); e != nullptr && *parse_bool(e->value)) {
    if (cfg.admin_enable_server) {
      warn(*e, "Paddock's AdminServer has no HTTPS; it stays off (ZooKeeper would serve HTTPS)");
    }
    cfg.admin_enable_server = false;
  }
  if (const Entry* e = get("admin.serverAddress")) cfg.admin_server_address = e->value;
  get_int("admin.serverPort", cfg.admin_server_port);
  if (const Entry* e = get("admin.commandURL")) {
    std::string url = e->value;
    if (url.empty() || url.front() != '/') url.insert(url.begin(), '/');
    while (url.size() > 1 && url.back() == '/') url.pop_back();
    cfg.admin_command_url = url;
  }
  get_int("admin.idleTimeout", cfg.admin_idle_timeout_ms);
  if (const Entry* e = get("metricsProvider.className"); e != nullptr && !e->value.empty()) {
    if (e->value == "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider") {
      cfg.metrics_provider_port = 7000;
      if (const Entry* h = get("metricsProvider.httpHost")) cfg.metrics_provider_host = h->value;
      get_int("metricsProvider.httpPort", cfg.metrics_provider_port);
    } else if (e->value != "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider") {
      warn(*e, "Paddock has ZooKeeper's default provider and the Prometheus one only; '" +
                   e->value + "' is ignored");
    }
  }

  // Paddock's keys.
  PluginChoice choice;
  if (sdk::Status s = read_plugin_choice(file, choice); !s) return s;
  cfg.plugin_dir = choice.plugin_dir;
  cfg.storage = choice.storage;
  cfg.client_transport = choice.client_transport;
  cfg.secure_transport = choice.secure_transport;
  cfg.processors = choice.processors;
  cfg.auth_providers = choice.auth_providers;
  for (const Entry& e : entries) {
    if (is_auth_provider_key(e.key) && auth_plugin_for(e.value).empty() &&
        lower(e.value).find("sasl") != std::string::npos) {
      warn(e, "SASL authentication is not offered by this server; the provider is ignored");
    }
  }
  if (const Entry* e = get("paddock.logLevel")) cfg.log_level = lower(e->value);
  if (const Entry* e = get("paddock.logFile")) cfg.log_file = e->value;
  get_int("paddock.ioThreads", cfg.io_threads);

  // Keys accepted but not acted on, in file order.
  for (size_t i = 0; i < entries.size(); ++i) {
    const Resolved& r = resolved[i];
    if (r.core != nullptr && r.core->use == KeyUse::kIgnored && winner[r.canonical] == i) {
      cfg.ignored.push_back(entries[i]);
    }
  }
  return cfg;
}

}  // namespace paddock::config
