// Transport extension point: byte-stream connections for the client port (and, later, the
// quorum and election ports). A transport plugin owns its sockets and I/O threads; the core
// sees only Connection objects and callbacks.
//
// Threading contract
//  - Every Connection is bound to one I/O thread for its whole life. All ConnectionHandler
//    callbacks of that connection run on that thread, one at a time, in order.
//  - Connection::send / close / post may be called from any thread.
//  - Bytes given to send() go out in the order of the send() calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "paddock/sdk/plugin.hpp"

namespace paddock::sdk {

class Connection;

// Implemented by the core; one per connection.
class PADDOCK_SDK_API ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Bytes arrived. `data` is valid only during the call; the handler copies what it keeps.
  // Runs on the connection's I/O thread; must not block.
  virtual void on_receive(const uint8_t* data, size_t size) = 0;
  // The connection is closed (by the peer, by an error, or by close()). Called exactly once,
  // on the connection's I/O thread; no on_receive follows. `reason` is empty for an orderly
  // close, else the OS's text or the transport's.
  virtual void on_closed(const std::string& reason) = 0;
};

// Implemented by the transport plugin. Shared ownership: the core and the plugin both hold it.
class PADDOCK_SDK_API Connection {
 public:
  virtual ~Connection() = default;
  // Starts delivering received bytes to `handler`. Called once, from the accept callback.
  virtual void start(std::shared_ptr<ConnectionHandler> handler) = 0;
  // Queues bytes for sending (copied). Any thread. Ignored after close.
  virtual void send(const void* data, size_t size) = 0;
  // Sends what is queued, then closes. Any thread. Idempotent.
  virtual void close_after_send() = 0;
  // Closes now, dropping unsent bytes. Any thread. Idempotent.
  virtual void close() = 0;
  // Stops / resumes reading (flow control). Any thread.
  virtual void set_reading(bool enabled) = 0;
  // Runs `task` on this connection's I/O thread (after callbacks already running finish).
  virtual void post(std::function<void()> task) = 0;
  // True when called on this connection's I/O thread.
  virtual bool on_io_thread() const = 0;
  // "ip:port" of the peer, and of the local end; IPv6 addresses unbracketed ("::1:2181").
  virtual const std::string& remote_address() const = 0;
  virtual const std::string& local_address() const = 0;
  // Bytes queued by send() and not yet written to the socket.
  virtual size_t pending_send_bytes() const = 0;
  // For TLS transports: the subject of the certificate the peer presented ("" when none or
  // plain TCP), in RFC 2253 form ("CN=client,O=Example").
  virtual std::string peer_certificate_subject() const { return {}; }
};

// Implemented by the core; told about each accepted connection, on the I/O thread the
// connection is bound to. The core must call Connection::start (or close) during the call.
class PADDOCK_SDK_API AcceptHandler {
 public:
  virtual ~AcceptHandler() = default;
  virtual void on_accept(std::shared_ptr<Connection> connection) = 0;
};

// A listening socket. Destroying it stops accepting; open connections stay open.
class PADDOCK_SDK_API Listener {
 public:
  virtual ~Listener() = default;
  // The port actually bound (useful when 0 was asked for).
  virtual uint16_t port() const = 0;
  virtual void close() = 0;
};

class PADDOCK_SDK_API Transport : public Plugin {
 public:
  // Starts `io_threads` I/O threads. Called once on the main thread after configure().
  virtual Status start(unsigned io_threads) = 0;
  // Binds and listens on host:port ("0.0.0.0" / "::" for all addresses). Accepted
  // connections are spread over the I/O threads. `handler` must outlive the listener.
  virtual Result<std::unique_ptr<Listener>> listen(const std::string& host, uint16_t port,
                                                   AcceptHandler& handler) = 0;
  // Connects to host:port; `done` runs on an I/O thread with the connection, or with a
  // Status saying why not. The caller then calls start() on it.
  virtual void connect(const std::string& host, uint16_t port,
                       std::function<void(Result<std::shared_ptr<Connection>>)> done) = 0;
  // Closes every listener and connection and joins the I/O threads. Main thread; blocks.
  virtual void stop() = 0;
};

}  // namespace paddock::sdk
