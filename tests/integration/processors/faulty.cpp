// A processor that misbehaves on request, by path (first path of the request):
//   /faulty-throw...     process() throws
//   /faulty-garbage...   process() returns a decision kind that does not exist
//   /faulty-rejectok...  process() rejects with ZOK (a refusal without an error)
//   /faulty-done...      process() says it answered the request without answering it (a write:
//                        refused, a processor may only answer reads)
//   /faulty-answer...    a getData is answered by the processor itself ("from-processor")
// Everything else passes. Built a second time claiming another SDK ABI version, which the
// server must refuse to load before running any of it.
#include <iterator>
#include <stdexcept>
#include <string_view>

#include <paddock/sdk/jute.hpp>
#include <paddock/sdk/plugin.hpp>
#include <paddock/sdk/processor.hpp>

namespace {

namespace sdk = paddock::sdk;

class Faulty final : public sdk::Processor {
 public:
  sdk::Status configure(const sdk::PluginConfig&, sdk::Host&) override { return {}; }
  sdk::Status start(sdk::ProcessorContext& context) override {
    context_ = &context;
    return {};
  }
  void stop() override {}

  sdk::Decision process(sdk::RequestView& request) override {
    const std::string_view path = request.path();
    if (path.starts_with("/faulty-throw")) throw std::runtime_error("faulty asked to throw");
    if (path.starts_with("/faulty-garbage")) {
      sdk::Decision d;
      d.kind = static_cast<sdk::Decision::Kind>(77);
      return d;
    }
    if (path.starts_with("/faulty-done")) return sdk::Decision::done();
    if (path.starts_with("/faulty-answer") && request.op() == sdk::OpCode::kGetData) {
      std::string body;
      sdk::jute::Writer w(body);
      w.write_buffer("from-processor");
      sdk::jute::write_stat(w, sdk::Stat{});
      context_->answer(request, body);
      return sdk::Decision::done();
    }
    if (path.starts_with("/faulty-rejectok")) return sdk::Decision::reject(sdk::ErrorCode::kOk);
    return sdk::Decision::next();
  }

 private:
  sdk::ProcessorContext* context_ = nullptr;
};

}  // namespace

#ifndef CLAIMED_ABI_VERSION
PADDOCK_PLUGIN(kProcessor, "faulty", "1.0.0", nullptr, 0, Faulty)
#else
namespace {
const sdk::PluginDescriptor descriptor{CLAIMED_ABI_VERSION, sdk::PluginKind::kProcessor,
                                       "otherabi", "1.0.0", "test", nullptr, 0};
sdk::Plugin* create() { return new Faulty(); }
}  // namespace
BOOST_DLL_ALIAS(descriptor, paddock_plugin_descriptor)
BOOST_DLL_ALIAS(create, paddock_plugin_create)
#endif
