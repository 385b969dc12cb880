// ZooKeeper's four-letter words (ruok, srvr, stat, mntr, conf, cons, envi, wchs, wchc, wchp,
// dump, isro, dirs, crst, srst, gtmk, stmk, hash), honouring 4lw.commands.whitelist.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/server_context.hpp"

namespace paddock::server {

// The answer to `word` (the first four bytes of a connection), or nullopt if it is not a
// four-letter word (then the bytes are a frame length).
std::optional<std::string> four_letter_word(ServerContext& ctx, std::string_view word);

// The version line's version ("3.8.4-paddock-0.1.0, built on ..."), shared with envi / mntr.
std::string full_version();

// ZooKeeper's short name of an op for `cons` ("GETD", "SETD" ...).
const char* short_op_name(int32_t op);

}  // namespace paddock::server
