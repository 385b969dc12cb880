// zoo.cfg parsing (Java properties syntax), validation against the key table, defaults and
// derived values, and the exact one-line error messages.
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace paddock::config {
namespace {

ConfigFile parse_ok(std::string_view text) {
  auto file = ConfigFile::parse_text("zoo.cfg", text);
  EXPECT_TRUE(file.is_ok()) << file.status().message();
  return file.is_ok() ? std::move(file).value() : ConfigFile{};
}

sdk::Result<ServerConfig> load_text(std::string_view text,
                                    const std::vector<sdk::ConfigKeyDecl>& plugin_keys = {}) {
  auto file = ConfigFile::parse_text("zoo.cfg", text);
  if (!file) return file.status();
  return load(file.value(), plugin_keys);
}

ServerConfig load_ok(std::string_view text,
                     const std::vector<sdk::ConfigKeyDecl>& plugin_keys = {}) {
  auto cfg = load_text(text, plugin_keys);
  EXPECT_TRUE(cfg.is_ok()) << cfg.status().message();
  return cfg.is_ok() ? std::move(cfg).value() : ServerConfig{};
}

std::string load_error(std::string_view text,
                       const std::vector<sdk::ConfigKeyDecl>& plugin_keys = {}) {
  auto cfg = load_text(text, plugin_keys);
  EXPECT_FALSE(cfg.is_ok()) << "expected the config to be rejected";
  return cfg.is_ok() ? std::string() : cfg.status().message();
}

std::string value_of(const ConfigFile& file, std::string_view key) {
  const Entry* e = file.find(key);
  return e != nullptr ? e->value : "<absent>";
}

// ---------------------------------------------------------------- syntax

TEST(ConfigSyntax, AllSeparatorForms) {
  ConfigFile f = parse_ok(
      "a=1\n"
      "b:2\n"
      "c 3\n"
      "d = 4\n"
      "e : 5\n"
      "f\t6\n"
      "g=\n"
      "h\n"
      "i==x\n"
      "j = : k\n"
      "  k=leading whitespace\n");
  EXPECT_EQ(value_of(f, "a"), "1");
  EXPECT_EQ(value_of(f, "b"), "2");
  EXPECT_EQ(value_of(f, "c"), "3");
  EXPECT_EQ(value_of(f, "d"), "4");
  EXPECT_EQ(value_of(f, "e"), "5");
  EXPECT_EQ(value_of(f, "f"), "6");
  EXPECT_EQ(value_of(f, "g"), "");
  EXPECT_EQ(value_of(f, "h"), "");
  EXPECT_EQ(value_of(f, "i"), "=x");   // only one separator is consumed
  EXPECT_EQ(value_of(f, "j"), ": k");  // whitespace, '=', whitespace; then ':' is value
  EXPECT_EQ(value_of(f, "k"), "leading whitespace");
  ASSERT_EQ(f.entries().size(), 11u);
  EXPECT_EQ(f.entries()[3].line, 4);
}

TEST(ConfigSyntax, CommentsAndBlankLines) {
  ConfigFile f = parse_ok(
      "# a comment\n"
      "   ! another comment\n"
      "\n"
      "   \t \n"
      "a=1 # not a comment\n"
      "#b=2\n");
  ASSERT_EQ(f.entries().size(), 1u);
  EXPECT_EQ(f.entries()[0].key, "a");
  EXPECT_EQ(f.entries()[0].value, "1 # not a comment");
  EXPECT_EQ(f.entries()[0].line, 5);
}

TEST(ConfigSyntax, ValuesAndKeysAreTrimmed) {
  ConfigFile f = parse_ok("dataDir=/var/zk   \t\nclientPort = 2181 \r\n");
  EXPECT_EQ(value_of(f, "dataDir"), "/var/zk");
  EXPECT_EQ(value_of(f, "clientPort"), "2181");
}

TEST(ConfigSyntax, LineContinuation) {
  ConfigFile f = parse_ok(
      "a=one \\\n"
      "     two \\\n"
      "\tthree\n"
      "b=x\\\\\n"  // an even number of backslashes: an escaped backslash, no continuation
      "c=1\\\n"
      "#2\n"  // a continuation line is never a comment
      "d=end\\\n"
      "\n"  // an empty continuation line ends the entry
      "e=5\n"
      "f=eof\\");  // a backslash at the end of the file is dropped
  EXPECT_EQ(value_of(f, "a"), "one two three");
  EXPECT_EQ(value_of(f, "b"), "x\\");
  EXPECT_EQ(value_of(f, "c"), "1#2");
  EXPECT_EQ(value_of(f, "d"), "end");
  EXPECT_EQ(value_of(f, "e"), "5");
  EXPECT_EQ(value_of(f, "f"), "eof");
  ASSERT_EQ(f.entries().size(), 6u);
  EXPECT_EQ(f.entries()[0].line, 1);
  EXPECT_EQ(f.entries()[1].line, 4);
  EXPECT_EQ(f.entries()[2].line, 5);
  EXPECT_EQ(f.entries()[4].line, 9);
}

// What Java's Properties.LineReader does when a continued line holds nothing but the backslash:
// the entry has not started yet, so the next line may still be a comment or blank.
TEST(ConfigSyntax, ContinuationBeforeAnyContent) {
  ConfigFile f = parse_ok(
      "\\\n"
      "# still a comment\n"
      "   \\\n"
      "\n"
      "x=1\n"
      "y=2\\\r\n"
      "  3\n");
  ASSERT_EQ(f.entries().size(), 2u);
  EXPECT_EQ(f.entries()[0].key, "x");
  EXPECT_EQ(f.entries()[0].line, 5);
  EXPECT_EQ(value_of(f, "y"), "23");
  EXPECT_EQ(f.entries()[1].line, 6);
}

TEST(ConfigSyntax, Escapes) {
  ConfigFile f = parse_ok(
      "key\\=with\\:separators=v\n"
      "key\\ with\\ spaces = v2\n"
      "u=\\u0041\\u00e9\\t|\n"
      "path=C:\\\\data\n");
  EXPECT_EQ(value_of(f, "key=with:separators"), "v");
  EXPECT_EQ(value_of(f, "key with spaces"), "v2");
  EXPECT_EQ(value_of(f, "u"), "A\xC3\xA9\t|");
  EXPECT_EQ(value_of(f, "path"), "C:\\data");
}

TEST(ConfigSyntax, MalformedUnicodeEscapeIsAnError) {
  auto f = ConfigFile::parse_text("zoo.cfg", "a=1\nb=\\u12x4\n");
  ASSERT_FALSE(f.is_ok());
  EXPECT_EQ(f.status().message(),
            "zoo.cfg:2: a \\uXXXX escape with four hexadecimal digits, found '\\u12x4'");
}

TEST(ConfigSyntax, LineEndings) {
  ConfigFile f = parse_ok("a=1\r\nb=2\rc=3\n\r\nd=4");
  EXPECT_EQ(value_of(f, "a"), "1");
  EXPECT_EQ(value_of(f, "b"), "2");
  EXPECT_EQ(value_of(f, "c"), "3");
  EXPECT_EQ(value_of(f, "d"), "4");
  ASSERT_EQ(f.entries().size(), 4u);
  EXPECT_EQ(f.entries()[2].line, 3);
  EXPECT_EQ(f.entries()[3].line, 5);
}

TEST(ConfigSyntax, LaterDuplicatesWin) {
  ConfigFile f = parse_ok("tickTime=1000\ntickTime=2000\n");
  EXPECT_EQ(f.entries().size(), 2u);
  ASSERT_NE(f.find("tickTime"), nullptr);
  EXPECT_EQ(f.find("tickTime")->value, "2000");
  EXPECT_EQ(f.find("tickTime")->line, 2);
  EXPECT_EQ(f.find("missing"), nullptr);

  ServerConfig cfg = load_ok("dataDir=/d\ntickTime=1000\ntickTime=2000\n");
  EXPECT_EQ(cfg.tick_time_ms, 2000);
  EXPECT_EQ(cfg.values.at("tickTime"), "2000");
}

TEST(ConfigSyntax, UnreadableFileNamesPathAndOsText) {
  auto missing = ConfigFile::parse("/nonexistent-paddock-dir/zoo.cfg");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().message(),
            "/nonexistent-paddock-dir/zoo.cfg: No such file or directory");

  auto dir = ConfigFile::parse("/");
  ASSERT_FALSE(dir.is_ok());
  EXPECT_EQ(dir.status().message(), "/: Is a directory");
}

TEST(ConfigSyntax, ParsesARealFile) {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("paddock-config-test-" + std::to_string(getpid()));
  {
    std::ofstream out(path);
    out << "# test\ndataDir=/tmp/zk\nclientPort=2999\n";
  }
  auto f = ConfigFile::parse(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  EXPECT_EQ(f.value().path(), path.string());
  EXPECT_EQ(value_of(f.value(), "clientPort"), "2999");
  EXPECT_EQ(f.value().entries()[0].line, 2);
}

// ---------------------------------------------------------------- defaults and derived values

TEST(ConfigLoad, DefaultsWithOnlyDataDir) {
  ServerConfig cfg = load_ok("dataDir=/var/lib/zk\n");
  EXPECT_EQ(cfg.config_path, "zoo.cfg");
  EXPECT_EQ(cfg.data_dir, "/var/lib/zk");
  EXPECT_EQ(cfg.data_log_dir, "/var/lib/zk");
  EXPECT_EQ(cfg.tick_time_ms, 3000);
  EXPECT_EQ(cfg.min_session_timeout_ms, 6000);
  EXPECT_EQ(cfg.max_session_timeout_ms, 60000);
  EXPECT_EQ(cfg.client_port, 2181);
  EXPECT_EQ(cfg.client_port_address, "");
  EXPECT_EQ(cfg.max_client_cnxns, 60);
  EXPECT_EQ(cfg.four_letter_words, std::set<std::string>{"srvr"});
  EXPECT_EQ(cfg.jute_max_buffer, 0xfffff);
  EXPECT_EQ(cfg.snap_count, 100000);
  EXPECT_EQ(cfg.snap_size_limit_kb, 4194304);
  EXPECT_EQ(cfg.autopurge_snap_retain_count, 3);
  EXPECT_EQ(cfg.autopurge_purge_interval_hours, 0);
  EXPECT_EQ(cfg.pre_alloc_size_kb, 65536);
  EXPECT_TRUE(cfg.force_sync);
  EXPECT_EQ(cfg.global_outstanding_limit, 1000);
  EXPECT_EQ(cfg.max_batch_size, 1000);
  EXPECT_TRUE(cfg.digest_enabled);
  EXPECT_EQ(cfg.plugin_dir, "");
  EXPECT_EQ(cfg.storage, "file");
  EXPECT_EQ(cfg.client_transport, "tcp");
  EXPECT_EQ(cfg.log_level, "info");
  EXPECT_EQ(cfg.log_file, "");
  EXPECT_EQ(cfg.io_threads, 0);
  EXPECT_TRUE(cfg.processors.empty());
  EXPECT_TRUE(cfg.ignored.empty());
  EXPECT_TRUE(cfg.warnings.empty());
}

TEST(ConfigLoad, EveryActedOnKey) {
  ServerConfig cfg = load_ok(
      "tickTime=2000\n"
      "dataDir=data\n"
      "dataLogDir=/fast/log\n"
      "clientPort=2888\n"
      "clientPortAddress=127.0.0.1\n"
      "maxClientCnxns=0\n"
      "minSessionTimeout=1000\n"
      "maxSessionTimeout=90000\n"
      "4lw.commands.whitelist=ruok\n"
      "jute.maxbuffer=4194304\n"
      "snapCount=5000\n"
      "snapSizeLimitInKb=-1\n"
      "autopurge.snapRetainCount=5\n"
      "autopurge.purgeInterval=24\n"
      "preAllocSize=1024\n"
      "forceSync=no\n"
      "globalOutstandingLimit=500\n"
      "maxBatchSize=100\n"
      "digest.enabled=FALSE\n"
      "paddock.pluginDir=/opt/paddock/plugins\n"
      "paddock.storage=sqlite\n"
      "paddock.transport=tls\n"
      "paddock.logLevel=DEBUG\n"
      "paddock.logFile=/var/log/paddock.log\n"
      "paddock.ioThreads=4\n"
      "paddock.processors=beforePrep:audit , afterFinal : metrics\n");
  EXPECT_EQ(cfg.tick_time_ms, 2000);
  EXPECT_EQ(cfg.data_dir, "data");  // relative paths stay as written
  EXPECT_EQ(cfg.data_log_dir, "/fast/log");
  EXPECT_EQ(cfg.client_port, 2888);
  EXPECT_EQ(cfg.client_port_address, "127.0.0.1");
  EXPECT_EQ(cfg.max_client_cnxns, 0);
  EXPECT_EQ(cfg.min_session_timeout_ms, 1000);
  EXPECT_EQ(cfg.max_session_timeout_ms, 90000);
  EXPECT_EQ(cfg.four_letter_words, (std::set<std::string>{"ruok", "srvr"}));
  EXPECT_EQ(cfg.jute_max_buffer, 4194304);
  EXPECT_EQ(cfg.snap_count, 5000);
  EXPECT_EQ(cfg.snap_size_limit_kb, -1);
  EXPECT_EQ(cfg.autopurge_snap_retain_count, 5);
  EXPECT_EQ(cfg.autopurge_purge_interval_hours, 24);
  EXPECT_EQ(cfg.pre_alloc_size_kb, 1024);
  EXPECT_FALSE(cfg.force_sync);
  EXPECT_EQ(cfg.global_outstanding_limit, 500);
  EXPECT_EQ(cfg.max_batch_size, 100);
  EXPECT_FALSE(cfg.digest_enabled);
  EXPECT_EQ(cfg.plugin_dir, "/opt/paddock/plugins");
  EXPECT_EQ(cfg.storage, "sqlite");
  EXPECT_EQ(cfg.client_transport, "tls");
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_EQ(cfg.log_file, "/var/log/paddock.log");
  EXPECT_EQ(cfg.io_threads, 4);
  EXPECT_EQ(cfg.processors, (std::vector<std::string>{"beforePrep:audit", "afterFinal:metrics"}));
  // digest.enabled is parsed but not acted on yet (no digests are written).
  ASSERT_EQ(cfg.ignored.size(), 1u);
  EXPECT_EQ(cfg.ignored[0].key, "digest.enabled");
  EXPECT_TRUE(cfg.warnings.empty());
}

TEST(ConfigLoad, SessionTimeoutsDeriveFromTickTime) {
  ServerConfig only_tick = load_ok("dataDir=/d\ntickTime=2000\n");
  EXPECT_EQ(only_tick.min_session_timeout_ms, 4000);
  EXPECT_EQ(only_tick.max_session_timeout_ms, 40000);

  ServerConfig only_min = load_ok("dataDir=/d\ntickTime=2000\nminSessionTimeout=10000\n");
  EXPECT_EQ(only_min.min_session_timeout_ms, 10000);
  EXPECT_EQ(only_min.max_session_timeout_ms, 40000);

  ServerConfig only_max = load_ok("dataDir=/d\ntickTime=2000\nmaxSessionTimeout=5000\n");
  EXPECT_EQ(only_max.min_session_timeout_ms, 4000);
  EXPECT_EQ(only_max.max_session_timeout_ms, 5000);

  // -1 is ZooKeeper's own "unset".
  ServerConfig minus_one =
      load_ok("dataDir=/d\ntickTime=2000\nminSessionTimeout=-1\nmaxSessionTimeout=-1\n");
  EXPECT_EQ(minus_one.min_session_timeout_ms, 4000);
  EXPECT_EQ(minus_one.max_session_timeout_ms, 40000);

  ServerConfig equal = load_ok("dataDir=/d\nminSessionTimeout=7000\nmaxSessionTimeout=7000\n");
  EXPECT_EQ(equal.min_session_timeout_ms, 7000);
  EXPECT_EQ(equal.max_session_timeout_ms, 7000);
}

TEST(ConfigLoad, ValuesZooKeeperRaisesToTheMinimum) {
  ServerConfig cfg = load_ok("dataDir=/d\nsnapCount=1\nautopurge.snapRetainCount=1\n");
  EXPECT_EQ(cfg.snap_count, 2);
  EXPECT_EQ(cfg.autopurge_snap_retain_count, 3);
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "zoo.cfg:2: snapCount: below the minimum of 2, using 2 (as ZooKeeper does)",
                "zoo.cfg:3: autopurge.snapRetainCount: below the minimum of 3, using 3 (as "
                "ZooKeeper does)"}));

  ServerConfig negative_interval = load_ok("dataDir=/d\nautopurge.purgeInterval=-5\n");
  EXPECT_EQ(negative_interval.autopurge_purge_interval_hours, 0);
}

TEST(ConfigLoad, NumbersParseAsZooKeeperParsesThem) {
  // Keys ZooKeeper reads as system properties use Integer.decode (hex, octal) ...
  ServerConfig decoded =
      load_ok("dataDir=/d\njute.maxbuffer=0x200000\nsnapCount=010\nglobalOutstandingLimit=#10\n");
  EXPECT_EQ(decoded.jute_max_buffer, 0x200000);
  EXPECT_EQ(decoded.snap_count, 8);
  EXPECT_EQ(decoded.global_outstanding_limit, 16);
  // ... the ones its parser reads use Integer.parseInt (decimal, leading zeros allowed).
  ServerConfig plain = load_ok("dataDir=/d\ntickTime=02000\nclientPort=+2182\n");
  EXPECT_EQ(plain.tick_time_ms, 2000);
  EXPECT_EQ(plain.client_port, 2182);
  EXPECT_EQ(load_error("dataDir=/d\ntickTime=0x10\n"),
            "zoo.cfg:2: tickTime: a positive number of milliseconds up to 107374182, found "
            "'0x10'");
}

TEST(ConfigLoad, ClientPortAddressEmptyMeansAll) {
  ServerConfig cfg = load_ok("dataDir=/d\nclientPortAddress=\n");
  EXPECT_EQ(cfg.client_port_address, "");
}

// ---------------------------------------------------------------- four-letter words

TEST(ConfigWhitelist, DefaultIsSrvrOnly) {
  EXPECT_EQ(load_ok("dataDir=/d\n").four_letter_words, std::set<std::string>{"srvr"});
  EXPECT_EQ(load_ok("dataDir=/d\n4lw.commands.whitelist=\n").four_letter_words,
            std::set<std::string>{"srvr"});
}

TEST(ConfigWhitelist, StarEnablesEveryCommand) {
  std::set<std::string> all{"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
                            "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash"};
  EXPECT_EQ(load_ok("dataDir=/d\n4lw.commands.whitelist=*\n").four_letter_words, all);
  EXPECT_EQ(load_ok("dataDir=/d\n4lw.commands.whitelist=ruok, *\n").four_letter_words, all);
}

TEST(ConfigWhitelist, CommaAndSpaceSeparatedList) {
  ServerConfig cfg = load_ok("dataDir=/d\n4lw.commands.whitelist=stat, ruok,conf   isro\n");
  EXPECT_EQ(cfg.four_letter_words, (std::set<std::string>{"stat", "ruok", "conf", "isro", "srvr"}));
  EXPECT_TRUE(cfg.warnings.empty());
}

TEST(ConfigWhitelist, UnknownWordsAreIgnoredWithAWarning) {
  ServerConfig cfg = load_ok("dataDir=/d\n4lw.commands.whitelist=ruok,RUOK,kill\n");
  EXPECT_EQ(cfg.four_letter_words, (std::set<std::string>{"ruok", "srvr"}));
  EXPECT_EQ(cfg.warnings,
            (std::vector<std::string>{
                "zoo.cfg:2: 4lw.commands.whitelist: 'RUOK' is not a four-letter word command, "
                "ignored",
                "zoo.cfg:2: 4lw.commands.whitelist: 'kill' is not a four-letter word command, "
                "ignored"}));
}

TEST(ConfigWhitelist, ReadOnlyModeAddsIsro) {
  ServerConfig cfg = load_ok("dataDir=/d\nreadonlymode.enabled=true\n");
  EXPECT_EQ(cfg.four_letter_words, (std::set<std::string>{"isro", "srvr"}));
  ServerConfig off = load_ok("dataDir=/d\nreadonlymode.enabled=false\n");
  EXPECT_EQ(off.four_letter_words, std::set<std::string>{"srvr"});
}

// ---------------------------------------------------------------- zookeeper.-prefixed aliases

TEST(ConfigAliases, SystemPropertySpellingIsAccepted) {
  ServerConfig cfg = load_ok(
      "dataDir=/d\n"
      "zookeeper.snapCount=5000\n"
      "zookeeper.digest.enabled=false\n"
      "zookeeper.4lw.commands.whitelist=ruok\n"
      "zookeeper.forceSync=no\n"
      "zookeeper.maxBatchSize=10\n"
      "zookeeper.ssl.keyStore.location=/etc/zk/keystore.jks\n"
      "zookeeper.admin.enableServer=false\n");
  EXPECT_EQ(cfg.snap_count, 5000);
  EXPECT_FALSE(cfg.digest_enabled);
  EXPECT_EQ(cfg.four_letter_words, (std::set<std::string>{"ruok", "srvr"}));
  EXPECT_FALSE(cfg.force_sync);
  EXPECT_EQ(cfg.max_batch_size, 10);
  EXPECT_FALSE(cfg.admin_enable_server);
  ASSERT_EQ(cfg.ignored.size(), 2u);
  EXPECT_EQ(cfg.ignored[0].key, "zookeeper.digest.enabled");
  EXPECT_EQ(cfg.ignored[1].key, "zookeeper.ssl.keyStore.location");
}

TEST(ConfigAliases, LaterSpellingWins) {
  EXPECT_EQ(load_ok("dataDir=/d\nsnapCount=10\nzookeeper.snapCount=20\n").snap_count, 20);
  EXPECT_EQ(load_ok("dataDir=/d\nzookeeper.snapCount=20\nsnapCount=10\n").snap_count, 10);
  // The overridden spelling's value is not checked, as ZooKeeper never reads it either.
  EXPECT_EQ(load_ok("dataDir=/d\nzookeeper.snapCount=lots\nsnapCount=10\n").snap_count, 10);
}

TEST(ConfigAliases, KeysZooKeeperParsesItselfHaveNoAlias) {
  EXPECT_EQ(load_error("dataDir=/d\nzookeeper.tickTime=2000\n"),
            "zoo.cfg:2: zookeeper.tickTime: unknown configuration key; did you mean 'tickTime'?");
  EXPECT_EQ(load_error("zookeeper.dataDir=/d\n"),
            "zoo.cfg:1: zookeeper.dataDir: unknown configuration key; did you mean 'dataDir'?");
}

// ---------------------------------------------------------------- errors

TEST(ConfigErrors, UnknownKeyWithSuggestion) {
  EXPECT_EQ(load_error("dataDir=/d\ntickTme=2000\n"),
            "zoo.cfg:2: tickTme: unknown configuration key; did you mean 'tickTime'?");
  EXPECT_EQ(load_error("dataDir=/d\nticktime=2000\n"),
            "zoo.cfg:2: ticktime: unknown configuration key; did you mean 'tickTime'?");
  EXPECT_EQ(load_error("dataDir=/d\nmaxClientConns=10\n"),
            "zoo.cfg:2: maxClientConns: unknown configuration key; did you mean "
            "'maxClientCnxns'?");
  EXPECT_EQ(load_error("dataDir=/d\nservr.1=a:2888:3888\n"),
            "zoo.cfg:2: servr.1: unknown configuration key; did you mean 'server.1'?");
  EXPECT_EQ(load_error("dataDir=/d\npaddock.storge=file\n"),
            "zoo.cfg:2: paddock.storge: unknown configuration key; did you mean "
            "'paddock.storage'?");
}

TEST(ConfigErrors, UnknownKeyWithoutSuggestion) {
  EXPECT_EQ(load_error("dataDir=/d\nfrobnicate=1\n"),
            "zoo.cfg:2: frobnicate: unknown configuration key");
  EXPECT_EQ(load_error("dataDir=/d\n=orphan\n"),
            "zoo.cfg:2: a key before the value, found 'orphan'");
}

TEST(ConfigErrors, BadInteger) {
  EXPECT_EQ(load_error("dataDir=/d\ntickTime=fast\n"),
            "zoo.cfg:2: tickTime: a positive number of milliseconds up to 107374182, found "
            "'fast'");
  EXPECT_EQ(load_error("dataDir=/d\ninitLimit=ten\n"),
            "zoo.cfg:2: initLimit: an integer, found 'ten'");
  EXPECT_EQ(load_error("dataDir=/d\nsnapCount=3000000000\n"),
            "zoo.cfg:2: snapCount: an integer from -2147483648 to 2147483647, found "
            "'3000000000'");
  EXPECT_EQ(load_error("dataDir=/d\nsnapSizeLimitInKb=1.5\n"),
            "zoo.cfg:2: snapSizeLimitInKb: an integer, found '1.5'");
  EXPECT_EQ(load_error("dataDir=/d\nclientPort=\n"),
            "zoo.cfg:2: clientPort: a port number from 0 to 65535, found ''");
}

TEST(ConfigErrors, OutOfRange) {
  EXPECT_EQ(load_error("dataDir=/d\nclientPort=70000\n"),
            "zoo.cfg:2: clientPort: a port number from 0 to 65535, found '70000'");
  EXPECT_EQ(load_error("dataDir=/d\ntickTime=0\n"),
            "zoo.cfg:2: tickTime: a positive number of milliseconds up to 107374182, found '0'");
  EXPECT_EQ(load_error("dataDir=/d\nmaxClientCnxns=-1\n"),
            "zoo.cfg:2: maxClientCnxns: a non-negative integer, found '-1'");
  EXPECT_EQ(load_error("dataDir=/d\nminSessionTimeout=-2\n"),
            "zoo.cfg:2: minSessionTimeout: a number of milliseconds (or -1 for the default), "
            "found '-2'");
  EXPECT_EQ(load_error("dataDir=/d\njute.maxbuffer=0\n"),
            "zoo.cfg:2: jute.maxbuffer: a positive number of bytes, found '0'");
  EXPECT_EQ(load_error("dataDir=/d\nelectionAlg=1\n"),
            "zoo.cfg:2: electionAlg: 3 (fast leader election, the only algorithm since "
            "ZooKeeper 3.6), found '1'");
  EXPECT_EQ(load_error("dataDir=/d\npaddock.ioThreads=-1\n"),
            "zoo.cfg:2: paddock.ioThreads: a number of threads from 0 to 4096, found '-1'");
}

TEST(ConfigErrors, SessionTimeoutsOutOfOrder) {
  EXPECT_EQ(load_error("dataDir=/d\nminSessionTimeout=50000\nmaxSessionTimeout=40000\n"),
            "zoo.cfg:2: minSessionTimeout: at most maxSessionTimeout (40000), found '50000'");
  // Only min set, above the derived max (20 x 2000).
  EXPECT_EQ(load_error("dataDir=/d\ntickTime=2000\nminSessionTimeout=50000\n"),
            "zoo.cfg:3: minSessionTimeout: at most maxSessionTimeout (40000), found '50000'");
  // Only max set, below the derived min (2 x 2000).
  EXPECT_EQ(load_error("dataDir=/d\ntickTime=2000\nmaxSessionTimeout=3000\n"),
            "zoo.cfg:3: maxSessionTimeout: at least minSessionTimeout (4000), found '3000'");
}

TEST(ConfigErrors, BadBoolean) {
  EXPECT_EQ(load_error("dataDir=/d\ndigest.enabled=yes\n"),
            "zoo.cfg:2: digest.enabled: 'true' or 'false', found 'yes'");
  EXPECT_EQ(load_error("dataDir=/d\nstandaloneEnabled=0\n"),
            "zoo.cfg:2: standaloneEnabled: 'true' or 'false', found '0'");
  EXPECT_EQ(load_error("dataDir=/d\nforceSync=true\n"),
            "zoo.cfg:2: forceSync: 'yes' or 'no', found 'true'");
}

TEST(ConfigErrors, MissingDataDir) {
  EXPECT_EQ(load_error("tickTime=2000\nclientPort=2181\n"),
            "zoo.cfg: dataDir: required key is missing");
  EXPECT_EQ(load_error(""), "zoo.cfg: dataDir: required key is missing");
  EXPECT_EQ(load_error("dataDir=\n"), "zoo.cfg:1: dataDir: a directory path, found ''");
}

TEST(ConfigErrors, ServerIdMustBeAnInteger) {
  EXPECT_EQ(load_error("dataDir=/d\nserver.1=a:2888:3888\nserver.x=b:2888:3888\n"),
            "zoo.cfg:3: server.x: an integer server id after 'server.', found 'x'");
  EXPECT_EQ(load_error("dataDir=/d\ngroup.a=1:2\n"),
            "zoo.cfg:2: group.a: an integer group id after 'group.', found 'a'");
  EXPECT_EQ(load_error("dataDir=/d\nweight.-1=2\n"),
            "zoo.cfg:2: weight.-1: an integer server id after 'weight.', found '-1'");
  EXPECT_EQ(load_error("dataDir=/d\ngroup.1=1:x\n"),
            "zoo.cfg:2: group.1: a colon-separated list of server ids, found '1:x'");
  EXPECT_EQ(load_error("dataDir=/d\nweight.1=heavy\n"),
            "zoo.cfg:2: weight.1: an integer weight, found 'heavy'");
}

TEST(ConfigErrors, EnumeratedValues) {
  EXPECT_EQ(load_error("dataDir=/d\npeerType=voter\n"),
            "zoo.cfg:2: peerType: 'participant' or 'observer', found 'voter'");
  EXPECT_EQ(load_error("dataDir=/d\npaddock.logLevel=verbose\n"),
            "zoo.cfg:2: paddock.logLevel: one of trace, debug, info, warn, error, found 'verbose'");
  EXPECT_EQ(
      load_error("dataDir=/d\npaddock.processors=afterPrep:audit,duringPrep:x\n"),
      "zoo.cfg:2: paddock.processors: a comma-separated list of point:name with point one "
      "of beforePrep, afterPrep, afterCommit, afterFinal, found 'afterPrep:audit,duringPrep:x'");
  EXPECT_EQ(load_error("dataDir=/d\npaddock.storage=\n"),
            "zoo.cfg:2: paddock.storage: a plugin name, found ''");
}

TEST(ConfigErrors, FirstErrorInFileOrderWins) {
  EXPECT_EQ(load_error("clientPort=x\nbogus=1\ntickTime=y\n"),
            "zoo.cfg:1: clientPort: a port number from 0 to 65535, found 'x'");
  EXPECT_EQ(load_error("bogus=1\nclientPort=x\n"), "zoo.cfg:1: bogus: unknown configuration key");
  // A per-line problem comes before the missing dataDir.
  EXPECT_EQ(load_error("tickTime=y\n"),
            "zoo.cfg:1: tickTime: a positive number of milliseconds up to 107374182, found 'y'");
}

TEST(ConfigErrors, OverriddenValuesAreNotChecked) {
  ServerConfig cfg = load_ok("dataDir=/d\nclientPort=oops\nclientPort=2200\n");
  EXPECT_EQ(cfg.client_port, 2200);
}

// ---------------------------------------------------------------- plugin keys

TEST(ConfigPluginKeys, AcceptedOnlyWhenDeclared) {
  const char* text = "dataDir=/d\nstorage.file.preallocate=1\n";
  EXPECT_EQ(load_error(text), "zoo.cfg:2: storage.file.preallocate: unknown configuration key");

  std::vector<sdk::ConfigKeyDecl> keys{
      {"storage.file.preallocate", "int", "0", "preallocate log files"},
      {"storage.file.fsync", "bool", "true", "fsync"}};
  ServerConfig cfg = load_ok(text, keys);
  EXPECT_EQ(cfg.values.at("storage.file.preallocate"), "1");
  EXPECT_TRUE(cfg.ignored.empty());
}

TEST(ConfigPluginKeys, TypedAndSuggested) {
  std::vector<sdk::ConfigKeyDecl> keys{
      {"storage.file.preallocate", "int", "0", "preallocate log files"},
      {"storage.file.fsync", "bool", "true", "fsync"}};
  EXPECT_EQ(load_error("dataDir=/d\nstorage.file.preallocate=lots\n", keys),
            "zoo.cfg:2: storage.file.preallocate: an integer, found 'lots'");
  EXPECT_EQ(load_error("dataDir=/d\nstorage.file.fsync=maybe\n", keys),
            "zoo.cfg:2: storage.file.fsync: 'true' or 'false', found 'maybe'");
  EXPECT_EQ(load_error("dataDir=/d\nstorage.file.fsnyc=true\n", keys),
            "zoo.cfg:2: storage.file.fsnyc: unknown configuration key; did you mean "
            "'storage.file.fsync'?");
}

// ---------------------------------------------------------------- ignored keys

TEST(ConfigIgnored, CollectedInFileOrderWithLines) {
  ServerConfig cfg = load_ok(
      "tickTime=2000\n"
      "initLimit=10\n"
      "reconfigEnabled=false\n"
      "dataDir=/d\n"
      "server.1=zk1:2888:3888\n"
      "server.2=zk2:2888:3888;2181\n"
      "admin.enableServer=false\n"
      "metricsProvider.className=org.example.Metrics\n"
      "ssl.quorum.keyStore.location=/k.jks\n"
      "enableEagerACLCheck=true\n"
      "reconfigEnabled=true\n");
  std::vector<std::pair<std::string, int>> got;
  for (const Entry& e : cfg.ignored) got.emplace_back(e.key, e.line);
  // The last line of a repeated key is the one reported. ssl.quorum.* (quorum TLS),
  // admin.enableServer and metricsProvider.className (an unknown provider class is a
  // warning) are acted on, so they are not in the list.
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"enableEagerACLCheck", 10},
                                                           {"reconfigEnabled", 11}}));
  EXPECT_EQ(cfg.ignored.back().value, "true");
  EXPECT_EQ(cfg.warnings, (std::vector<std::string>{
                              "zoo.cfg:8: metricsProvider.className: Paddock has ZooKeeper's "
                              "default provider and the Prometheus one only; "
                              "'org.example.Metrics' is ignored"}));
  EXPECT_FALSE(cfg.admin_enable_server);
  EXPECT_EQ(cfg.metrics_provider_port, -1);
}

// ---------------------------------------------------------------- AdminServer and metrics

TEST(ConfigAdmin, DefaultsAreZooKeepers) {
  ServerConfig cfg = load_ok("dataDir=/d\n");
  EXPECT_TRUE(cfg.admin_enable_server);
  EXPECT_EQ(cfg.admin_server_address, "0.0.0.0");
  EXPECT_EQ(cfg.admin_server_port, 8080);
  EXPECT_EQ(cfg.admin_command_url, "/commands");
  EXPECT_EQ(cfg.metrics_provider_port, -1);  // no Prometheus provider endpoint
}

TEST(ConfigAdmin, KeysAreActedOn) {
  ServerConfig cfg = load_ok(
      "dataDir=/d\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\n"
      "admin.commandURL=ops/\nadmin.idleTimeout=2000\n"
      "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
      "metricsProvider.httpHost=127.0.0.1\n");
  EXPECT_EQ(cfg.admin_server_address, "127.0.0.1");
  EXPECT_EQ(cfg.admin_server_port, 0);
  EXPECT_EQ(cfg.admin_command_url, "/ops");  // a leading slash added, the trailing one dropped
  EXPECT_EQ(cfg.admin_idle_timeout_ms, 2000);
  EXPECT_EQ(cfg.metrics_provider_host, "127.0.0.1");
  EXPECT_EQ(cfg.metrics_provider_port, 7000);  // the provider's default port
  EXPECT_TRUE(cfg.warnings.empty());
}

TEST(ConfigAdmin, ForceHttpsKeepsTheAdminServerOff) {
  ServerConfig cfg = load_ok("dataDir=/d\nadmin.forceHttps=true\n");
  EXPECT_FALSE(cfg.admin_enable_server);
  ASSERT_EQ(cfg.warnings.size(), 1u);
  EXPECT_NE(cfg.warnings[0].find("admin.forceHttps: Paddock's AdminServer has no HTTPS"),
            std::string::npos);
}

TEST(ConfigAdmin, PortsAreChecked) {
  EXPECT_FALSE(load_text("dataDir=/d\nadmin.serverPort=70000\n").is_ok());
  EXPECT_FALSE(load_text("dataDir=/d\nmetricsProvider.httpPort=-1\n").is_ok());
}

TEST(ConfigIgnored, ValuesHoldEveryEntry) {
  ServerConfig cfg = load_ok("dataDir=/d\ninitLimit=10\nssl.clientAuth=none\ninitLimit=20\n");
  EXPECT_EQ(cfg.values.size(), 3u);
  EXPECT_EQ(cfg.values.at("dataDir"), "/d");
  EXPECT_EQ(cfg.values.at("initLimit"), "20");
  EXPECT_EQ(cfg.values.at("ssl.clientAuth"), "none");
}

// ---------------------------------------------------------------- plugin_choice

TEST(ConfigPluginChoice, DefaultsAndValues) {
  auto defaults = plugin_choice(parse_ok("dataDir=/d\n"));
  ASSERT_TRUE(defaults.is_ok());
  EXPECT_EQ(defaults.value().plugin_dir, "");
  EXPECT_EQ(defaults.value().storage, "file");
  EXPECT_EQ(defaults.value().client_transport, "tcp");
  EXPECT_TRUE(defaults.value().processors.empty());

  // Reads only its own keys: unknown keys and a missing dataDir are load()'s business.
  auto chosen =
      plugin_choice(parse_ok("storage.sqlite.path=/x\n"
                             "paddock.pluginDir=plugins\n"
                             "paddock.storage=sqlite\n"
                             "paddock.transport=tls\n"
                             "paddock.processors=afterCommit:replicate,\n"));
  ASSERT_TRUE(chosen.is_ok()) << chosen.status().message();
  EXPECT_EQ(chosen.value().plugin_dir, "plugins");
  EXPECT_EQ(chosen.value().storage, "sqlite");
  EXPECT_EQ(chosen.value().client_transport, "tls");
  EXPECT_EQ(chosen.value().processors, std::vector<std::string>{"afterCommit:replicate"});
}

TEST(ConfigPluginChoice, BadValues) {
  auto bad = plugin_choice(parse_ok("paddock.processors=afterCommit\n"));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(),
            "zoo.cfg:1: paddock.processors: a comma-separated list of point:name with point one "
            "of beforePrep, afterPrep, afterCommit, afterFinal, found 'afterCommit'");
  auto bad_name = plugin_choice(parse_ok("paddock.transport=t c p\n"));
  ASSERT_FALSE(bad_name.is_ok());
  EXPECT_EQ(bad_name.status().message(),
            "zoo.cfg:1: paddock.transport: a plugin name, found 't c p'");
}

// ---------------------------------------------------------------- real configurations

// The sample zoo.cfg Debian's zookeeper package ships (conf_example/zoo.cfg).
constexpr const char* kDebianSample = R"(# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial 
# synchronization phase can take
initLimit=10
# The number of ticks that can pass between 
# sending a request and getting an acknowledgement
syncLimit=5
# the directory where the snapshot is stored.
# do not use /tmp for storage, /tmp here is just 
# example sakes.
dataDir=/tmp/zookeeper
# the port at which the clients will connect
clientPort=2181
# the maximum number of client connections.
# increase this if you need to handle more clients
#maxClientCnxns=60
#
# Be sure to read the maintenance section of the 
# administrator guide before turning on autopurge.
#
# https://zookeeper.apache.org/doc/current/zookeeperAdmin.html#sc_maintenance
#
# The number of snapshots to retain in dataDir
#autopurge.snapRetainCount=3
# Purge task interval in hours
# Set to "0" to disable auto purge feature
#autopurge.purgeInterval=1

## Metrics Providers
#
# https://prometheus.io Metrics Exporter
#metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
#metricsProvider.httpHost=0.0.0.0
#metricsProvider.httpPort=7000
#metricsProvider.exportJvmInfo=true
)";

TEST(ConfigRealFiles, DebianSampleLoads) {
  ServerConfig cfg = load_ok(kDebianSample);
  EXPECT_EQ(cfg.tick_time_ms, 2000);
  EXPECT_EQ(cfg.data_dir, "/tmp/zookeeper");
  EXPECT_EQ(cfg.client_port, 2181);
  EXPECT_EQ(cfg.min_session_timeout_ms, 4000);
  EXPECT_EQ(cfg.max_session_timeout_ms, 40000);
  std::vector<std::string> ignored;
  for (const Entry& e : cfg.ignored) ignored.push_back(e.key);
  EXPECT_TRUE(ignored.empty());  // initLimit and syncLimit are acted on
}

TEST(ConfigRealFiles, ProductionStyleEnsembleLoads) {
  ServerConfig cfg = load_ok(R"(tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper/data
dataLogDir=/var/lib/zookeeper/log
clientPort=2181
maxClientCnxns=100
autopurge.snapRetainCount=5
autopurge.purgeInterval=12
4lw.commands.whitelist=srvr, mntr, ruok, stat
standaloneEnabled=false
reconfigEnabled=true
admin.enableServer=true
admin.serverPort=8081
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
metricsProvider.exportJvmInfo=true
quorumListenOnAllIPs=true
secureClientPort=2281
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
ssl.keyStore.location=/etc/zookeeper/keystore.jks
ssl.keyStore.password=secret
ssl.quorum.trustStore.location=/etc/zookeeper/truststore.jks
sslQuorum=true
snapshot.trust.empty=true
jute.maxbuffer=0x400000
skipACL=no
leaderServes=yes
server.1=zk1.example.com:2888:3888;2181
server.2=zk2.example.com:2888:3888;2181
server.3=zk3.example.com:2888:3888:observer;2181
)");
  EXPECT_EQ(cfg.data_log_dir, "/var/lib/zookeeper/log");
  EXPECT_EQ(cfg.autopurge_snap_retain_count, 5);
  EXPECT_EQ(cfg.four_letter_words, (std::set<std::string>{"srvr", "mntr", "ruok", "stat"}));
  EXPECT_EQ(cfg.jute_max_buffer, 0x400000);
  EXPECT_EQ(cfg.admin_server_port, 8081);
  EXPECT_EQ(cfg.metrics_provider_host, "0.0.0.0");
  EXPECT_EQ(cfg.metrics_provider_port, 7000);
  // secureClientPort, the ensemble keys, admin.*, metricsProvider.className / httpPort,
  // authProvider.x509 and skipACL are acted on; metricsProvider.exportJvmInfo is not.
  EXPECT_EQ(cfg.ignored.size(), 8u);
  EXPECT_EQ(cfg.auth_providers, std::vector<std::string>{"x509"});
}

// ---------------------------------------------------------------- the key table

TEST(ConfigKeyTable, EveryKeyIsDeclaredOnceAndDescribed) {
  std::set<std::string_view> names;
  const std::set<std::string_view> types{"int",    "long", "bool", "yesno", "double",
                                         "string", "path", "list", "addr"};
  for (const KeyDecl& d : core_keys()) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate key " << d.name;
    EXPECT_FALSE(d.description.empty()) << d.name;
    EXPECT_TRUE(types.count(d.type)) << d.name << " has type " << d.type;
    EXPECT_EQ(d.is_prefix, d.name.back() == '.') << d.name;
  }
}

TEST(ConfigKeyTable, ActedOnKeysAreExactlyThese) {
  std::set<std::string_view> acted;
  for (const KeyDecl& d : core_keys()) {
    if (d.use == KeyUse::kActedOn) acted.insert(d.name);
  }
  EXPECT_EQ(acted, (std::set<std::string_view>{"tickTime",
                                               "dataDir",
                                               "dataLogDir",
                                               "clientPort",
                                               "clientPortAddress",
                                               "secureClientPort",
                                               "secureClientPortAddress",
                                               "maxClientCnxns",
                                               "minSessionTimeout",
                                               "maxSessionTimeout",
                                               "4lw.commands.whitelist",
                                               "jute.maxbuffer",
                                               "snapCount",
                                               "snapSizeLimitInKb",
                                               "autopurge.snapRetainCount",
                                               "autopurge.purgeInterval",
                                               "preAllocSize",
                                               "forceSync",
                                               "globalOutstandingLimit",
                                               "maxBatchSize",
                                               "testingonly.initialZxid",
                                               "paddock.pluginDir",
                                               "paddock.storage",
                                               "paddock.transport",
                                               "paddock.secureTransport",
                                               "paddock.election",
                                               "paddock.quorumTransport",
                                               "server.",
                                               "initLimit",
                                               "syncLimit",
                                               "electionAlg",
                                               "peerType",
                                               "standaloneEnabled",
                                               "sslQuorum",
                                               "ssl.quorum.",
                                               "fastleader.minNotificationInterval",
                                               "fastleader.maxNotificationInterval",
                                               "paddock.logLevel",
                                               "paddock.logFile",
                                               "paddock.ioThreads",
                                               "paddock.processors",
                                               "admin.enableServer",
                                               "admin.serverAddress",
                                               "admin.serverPort",
                                               "admin.idleTimeout",
                                               "admin.commandURL",
                                               "admin.forceHttps",
                                               "metricsProvider.className",
                                               "metricsProvider.httpHost",
                                               "metricsProvider.httpPort",

                                               "authProvider.",
                                               "DigestAuthenticationProvider.enabled",
                                               "DigestAuthenticationProvider.superDigest",
                                               "X509AuthenticationProvider.superUser",
                                               "skipACL",
                                               "extendedTypesEnabled",
                                               "enforceQuota",
                                               "znode.container.checkIntervalMs",
                                               "znode.container.maxPerMinute",
                                               "znode.container.maxNeverUsedIntervalMs",
                                               "readonlymode.enabled"}));
}

TEST(ConfigKeyTable, EveryKeyIsAcceptedWithItsDefault) {
  // Each declared default is a valid value of its key.
  for (const KeyDecl& d : core_keys()) {
    if (d.is_prefix || d.default_value.empty() || d.name == "dataDir") continue;
    std::string text =
        "dataDir=/d\n" + std::string(d.name) + "=" + std::string(d.default_value) + "\n";
    auto cfg = load_text(text);
    EXPECT_TRUE(cfg.is_ok()) << d.name << ": " << cfg.status().message();
  }
}

std::string read_source_file(const char* relative) {
  const char* root = std::getenv("PADDOCK_SOURCE_DIR");
#ifdef PADDOCK_TEST_SOURCE_DIR
  if (root == nullptr) root = PADDOCK_TEST_SOURCE_DIR;
#endif
  if (root == nullptr) return {};
  std::ifstream in(std::filesystem::path(root) / relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ConfigDocs, EveryKeyIsDocumented) {
  std::string doc = read_source_file("docs/config.md");
  if (doc.empty()) GTEST_SKIP() << "docs/config.md not found";
  for (const KeyDecl& d : core_keys()) {
    std::string shown = "`" + std::string(d.name) + (d.is_prefix ? "" : "`");
    EXPECT_NE(doc.find(shown), std::string::npos) << d.name << " is missing from docs/config.md";
  }
}

TEST(ConfigShipped, StandaloneConfigLoads) {
  std::string text = read_source_file("conf/standalone.cfg");
  if (text.empty()) GTEST_SKIP() << "conf/standalone.cfg not found";
  auto file = ConfigFile::parse_text("conf/standalone.cfg", text);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  auto cfg = load(file.value());
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_EQ(cfg.value().data_dir, "./data");
  EXPECT_EQ(cfg.value().client_port_address, "127.0.0.1");
  EXPECT_EQ(cfg.value().tick_time_ms, 2000);
  EXPECT_EQ(cfg.value().four_letter_words.size(), 18u);
  EXPECT_TRUE(cfg.value().warnings.empty());
}

}  // namespace
}  // namespace paddock::config
