// ZooKeeper's four-letter words (ruok, srvr, stat, mntr, conf, cons, envi, wchs, wchc, wchp,
// dump, isro, dirs, crst, srst, gtmk, stmk, hash), honouring 4lw.commands.whitelist. The data
// comes from admin/server_info.hpp, which the AdminServer's JSON commands share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/server_context.hpp"

namespace paddock::server {

struct FourLetterAnswer {
  enum class Kind {
    kNotAWord,    // the first four bytes are a frame length, not a command
    kIncomplete,  // stmk without its 8-byte trace mask yet: wait for more bytes
    kAnswer,      // `text` answers it (possibly empty); then the connection closes
  };
  Kind kind = Kind::kNotAWord;
  std::string text;
  size_t consumed = 0;  // bytes of `input` the command used (4, or 12 for stmk)
};

// What a connection whose first bytes are `input` (at least 4) gets.
FourLetterAnswer four_letter_word(ServerContext& ctx, std::string_view input);

// ZooKeeper's short name of an op for `cons` ("GETD", "SETD" ...).
const char* short_op_name(int32_t op);

}  // namespace paddock::server
