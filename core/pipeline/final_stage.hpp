// Final: applies a committed write to the data tree (firing its watches) or executes a read,
// then answers the client (ZooKeeper's FinalRequestProcessor). Runs on the sync thread for
// writes and for reads that waited behind them, on the I/O thread for other reads.
#pragma once

#include <string>

#include "paddock/sdk/jute.hpp"
#include "paddock/sdk/processor.hpp"
#include "pipeline/request.hpp"
#include "server/server_context.hpp"
#include "tree/data_tree.hpp"



namespace paddock::pipeline {

class FinalStage final : public sdk::Processor {
 public:
  explicit FinalStage(server::ServerContext& ctx) : ctx_(ctx) {}

  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext&) override { return {}; }
  sdk::Decision process(sdk::RequestView& view) override;
  void stop() override {}

  // Applies a committed transaction entry to the tree, with what it means for sessions and
  // connections here. `r` is the request it answers (null for a learner's copy of a
  // transaction another server's client made). Fills `h` with its header.
  tree::TxnResult apply_txn(std::string_view txn, Request* r, sdk::jute::TxnHeader& h);

 private:
  // Builds the reply body after the 20-byte reply prefix of `out`; returns the error code.
  ErrorCode apply_write(Request& r, std::string& out);
  ErrorCode execute_read(Request& r, std::string& out);
  ErrorCode set_watches(Request& r, bool v2);
  void answer(Request& r, std::string& frame, ErrorCode err, Zxid zxid);

  server::ServerContext& ctx_;
};

}  // namespace paddock::pipeline
