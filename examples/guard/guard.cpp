// guard: a Paddock request processor that refuses writes under read-only path prefixes and
// writes above a per-session rate, answering them with a ZooKeeper error code of your choice.
//
//   paddock.processors=beforePrep:guard
//   guard.readOnlyPaths=/config,/locks/frozen   # writes on or under these fail
//   guard.maxWritesPerSecond=100                # per session; 0 = no limit
//   guard.errorCode=NOAUTH                      # or BADARGUMENTS, QUOTAEXCEEDED, -102 ...
//
// Inserted before prep, it sees each request before validation, as the client sent it, and a
// refused write never gets a zxid. Reads always pass, and so do session creation and closing
// (a session must always be able to end).
//
// "Under" means on the prefix itself or below it: /config and /config/db, not /configs.
// The SDK shows a processor the first path of a multi only, so a multi is judged by its
// first operation (see README.md).
//
// The rate is a token bucket per session: up to maxWritesPerSecond writes at once, refilled
// at that many per second. Buckets live in a few mutex-guarded shards keyed by session id
// (process() runs on any I/O thread, one session's requests in order) and go when their
// session closes or expires.
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <paddock/sdk/plugin.hpp>
#include <paddock/sdk/processor.hpp>
#include <paddock/sdk/status.hpp>
#include <paddock/sdk/types.hpp>

#ifndef GUARD_VERSION
#define GUARD_VERSION "0.0.0"
#endif

namespace guard {
namespace {

namespace sdk = paddock::sdk;
using Clock = std::chrono::steady_clock;

constexpr sdk::ConfigKeyDecl kConfigKeys[] = {
    {"guard.readOnlyPaths", "list", "",
     "comma-separated path prefixes under which writes are refused"},
    {"guard.maxWritesPerSecond", "int", "0",
     "writes one session may make per second (bursts up to that many); 0 = no limit"},
    {"guard.errorCode", "string", "NOAUTH",
     "ZooKeeper error refused writes get: a name (NOAUTH, BADARGUMENTS ...) or its number"},
};

// The codes a client can be answered with, by ZooKeeper's name.
constexpr sdk::ErrorCode kAnswerableCodes[] = {
    sdk::ErrorCode::kSystemError,      sdk::ErrorCode::kRuntimeInconsistency,
    sdk::ErrorCode::kDataInconsistency, sdk::ErrorCode::kMarshallingError,
    sdk::ErrorCode::kUnimplemented,    sdk::ErrorCode::kOperationTimeout,
    sdk::ErrorCode::kBadArguments,     sdk::ErrorCode::kApiError,
    sdk::ErrorCode::kNoNode,           sdk::ErrorCode::kNoAuth,
    sdk::ErrorCode::kBadVersion,       sdk::ErrorCode::kNoChildrenForEphemerals,
    sdk::ErrorCode::kNodeExists,       sdk::ErrorCode::kNotEmpty,
    sdk::ErrorCode::kInvalidAcl,       sdk::ErrorCode::kAuthFailed,
    sdk::ErrorCode::kNotReadOnly,      sdk::ErrorCode::kRequestTimeout,
    sdk::ErrorCode::kQuotaExceeded,    sdk::ErrorCode::kThrottledOp,
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<sdk::ErrorCode> parse_error_code(std::string_view text) {
  int32_t number = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, number);
  const bool numeric = ec == std::errc() && ptr == end;
  for (sdk::ErrorCode code : kAnswerableCodes) {
    if (numeric ? static_cast<int32_t>(code) == number : text == sdk::error_name(code)) {
      return code;
    }
  }
  return std::nullopt;
}

std::string hex(int64_t value) {
  char buffer[20];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, static_cast<uint64_t>(value), 16);
  return "0x" + std::string(buffer, r.ptr);
}

class RateLimiter {
 public:
  explicit RateLimiter(int64_t per_second) : rate_(static_cast<double>(per_second)) {}

  // Takes one token of the session's bucket; false when it is empty. The second value says
  // whether this is the first refusal of a spell (for a log line).
  std::pair<bool, bool> take(sdk::SessionId session, Clock::time_point now) {
    Shard& shard = shards_[static_cast<uint64_t>(session) % kShards];
    std::lock_guard lock(shard.mutex);
    auto [it, inserted] = shard.buckets.try_emplace(session, Bucket{rate_, now, false});
    Bucket& b = it->second;
    if (!inserted) {
      const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
      b.tokens = std::min(rate_, b.tokens + elapsed * rate_);
      b.refilled = now;
    }
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
      b.refusing = false;
      return {true, false};
    }
    const bool first = !b.refusing;
    b.refusing = true;
    return {false, first};
  }

  void forget(sdk::SessionId session) {
    Shard& shard = shards_[static_cast<uint64_t>(session) % kShards];
    std::lock_guard lock(shard.mutex);
    shard.buckets.erase(session);
  }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled;
    bool refusing;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<sdk::SessionId, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;

  const double rate_;
  std::array<Shard, kShards> shards_;
};

class Guard final : public sdk::Processor {
 public:
  sdk::Status configure(const sdk::PluginConfig& config, sdk::Host& host) override {
    host_ = &host;
    if (auto paths = config.get("guard.readOnlyPaths")) {
      size_t start = 0;
      while (start <= paths->size()) {
        size_t comma = paths->find(',', start);
        if (comma == std::string_view::npos) comma = paths->size();
        std::string_view item = trim(paths->substr(start, comma - start));
        start = comma + 1;
        if (item.empty()) continue;
        while (item.size() > 1 && item.back() == '/') item.remove_suffix(1);
        if (item.front() != '/') {
          return sdk::Status::error("guard.readOnlyPaths: expected absolute paths such as "
                                    "/config, found '" + std::string(item) + "'");
        }
        read_only_.emplace_back(item);
      }
    }
    if (auto rate = config.get("guard.maxWritesPerSecond")) {
      int64_t value = 0;
      const std::string_view text = trim(*rate);
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || ptr != text.data() + text.size() || value < 0 || value > 1000000) {
        return sdk::Status::error("guard.maxWritesPerSecond: expected an integer from 0 to "
                                  "1000000, found '" + std::string(*rate) + "'");
      }
      if (value > 0) limiter_.emplace(value);
      max_per_second_ = value;
    }
    if (auto code = config.get("guard.errorCode")) {
      auto parsed = parse_error_code(trim(*code));
      if (!parsed) {
        return sdk::Status::error("guard.errorCode: expected a ZooKeeper error name such as "
                                  "NOAUTH or BADARGUMENTS, or its number, found '" +
                                  std::string(*code) + "'");
      }
      error_ = *parsed;
    }
    return sdk::Status::ok();
  }

  sdk::Status start(sdk::ProcessorContext&) override {
    std::string paths;
    for (const auto& p : read_only_) paths += (paths.empty() ? "" : ",") + p;
    host_->log(sdk::LogLevel::kInfo,
               "refusing writes under [" + paths + "] and above " +
                   (max_per_second_ > 0 ? std::to_string(max_per_second_) : "no limit of") +
                   " writes/s per session with " + sdk::error_name(error_));
    return sdk::Status::ok();
  }

  sdk::Decision process(sdk::RequestView& request) override {
    const sdk::OpCode op = request.op();
    if (op == sdk::OpCode::kCloseSession) {
      if (limiter_) limiter_->forget(request.session());
      return sdk::Decision::next();
    }
    if (!request.is_write() || op == sdk::OpCode::kCreateSession) return sdk::Decision::next();

    if (is_read_only(request.path())) return sdk::Decision::reject(error_);
    if (limiter_) {
      const auto [allowed, first_refusal] = limiter_->take(request.session(), Clock::now());
      if (!allowed) {
        if (first_refusal) {
          host_->log(sdk::LogLevel::kInfo,
                     "session " + hex(request.session()) + " exceeds " +
                         std::to_string(max_per_second_) + " writes/s; refusing with " +
                         sdk::error_name(error_));
        }
        return sdk::Decision::reject(error_);
      }
    }
    return sdk::Decision::next();
  }

  void stop() override {}

 private:
  bool is_read_only(std::string_view path) const {
    for (const auto& prefix : read_only_) {
      if (prefix == "/") return true;
      if (path.size() >= prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
          (path.size() == prefix.size() || path[prefix.size()] == '/')) {
        return true;
      }
    }
    return false;
  }

  sdk::Host* host_ = nullptr;
  std::vector<std::string> read_only_;
  int64_t max_per_second_ = 0;
  std::optional<RateLimiter> limiter_;
  sdk::ErrorCode error_ = sdk::ErrorCode::kNoAuth;
};

}  // namespace
}  // namespace guard

PADDOCK_PLUGIN(kProcessor, "guard", GUARD_VERSION, guard::kConfigKeys,
               static_cast<uint32_t>(std::size(guard::kConfigKeys)), guard::Guard)
