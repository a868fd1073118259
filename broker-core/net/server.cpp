#include "broker-core/net/server.h"

#include "broker-core/net/asio.h"

#include <spdlog/spdlog.h>

#include <array>
#include <deque>
#include <mutex>
#include <set>

namespace geomirror::net {
namespace {

using asio::awaitable;
using asio::use_awaitable;

int32_t read_be32(const std::array<uint8_t, 4>& b) {
  return static_cast<int32_t>((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
}

std::array<uint8_t, 4> be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

// A steady_timer used as a wake-up signal between coroutines of one strand.
class signal {
 public:
  explicit signal(const asio::any_io_executor& ex) : timer_(ex) { timer_.expires_at(asio::steady_timer::time_point::max()); }
  void notify() { timer_.cancel(); }
  awaitable<void> wait() {
    timer_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }

 private:
  asio::steady_timer timer_;
};

class session;

// Tracks live sessions so stop() can close them.
class session_registry {
 public:
  void add(const std::shared_ptr<session>& s) {
    std::lock_guard lock(mu_);
    sessions_.insert(s);
  }
  void remove(const std::shared_ptr<session>& s) {
    std::lock_guard lock(mu_);
    sessions_.erase(s);
  }
  std::vector<std::shared_ptr<session>> snapshot() {
    std::lock_guard lock(mu_);
    return {sessions_.begin(), sessions_.end()};
  }

 private:
  std::mutex mu_;
  std::set<std::shared_ptr<session>> sessions_;
};

// One client connection: a reader coroutine that frames requests and hands
// them to the dispatcher in order, and a writer coroutine that sends
// responses strictly in request order as they complete.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, dispatcher& d, const server_options& options, session_registry& registry,
          uint64_t id)
      : socket_(std::move(socket)),
        dispatcher_(d),
        options_(options),
        registry_(registry),
        id_(id),
        response_ready_(socket_.get_executor()),
        slot_freed_(socket_.get_executor()) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start() {
    registry_.add(shared_from_this());
    spdlog::debug("connection {} from {} opened", id_, peer_);
    auto self = shared_from_this();
    asio::co_spawn(socket_.get_executor(), [self] { return self->read_loop(); }, asio::detached);
    asio::co_spawn(socket_.get_executor(), [self] { return self->write_loop(); }, asio::detached);
  }

  // Safe from any thread.
  void close_async() {
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self] { self->close(); });
  }

 private:
  struct slot {
    bool ready = false;
    dispatch_result result;
  };

  awaitable<void> read_loop() {
    try {
      for (;;) {
        while (!closed_ && pending_.size() >= options_.max_inflight_per_connection) co_await slot_freed_.wait();
        if (closed_) break;
        std::array<uint8_t, 4> size_bytes{};
        co_await asio::async_read(socket_, asio::buffer(size_bytes), use_awaitable);
        int32_t size = read_be32(size_bytes);
        if (size < 8 || size > options_.max_request_bytes) {
          spdlog::warn("connection {} from {}: request frame of {} bytes is outside 8..{} (socket.request.max.bytes); "
                       "closing the connection",
                       id_, peer_, size, options_.max_request_bytes);
          close();
          break;
        }
        auto frame = std::make_shared<frame_bytes>(static_cast<size_t>(size));
        co_await asio::async_read(socket_, asio::buffer(*frame), use_awaitable);
        uint64_t seq = next_seq_++;
        pending_.emplace_back();
        auto self = shared_from_this();
        dispatcher_.dispatch(request_frame{std::move(frame), peer_, id_}, [self, seq](dispatch_result r) {
          asio::post(self->socket_.get_executor(), [self, seq, r = std::move(r)]() mutable {
            self->complete(seq, std::move(r));
          });
        });
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::eof && e.code() != asio::error::operation_aborted &&
          e.code() != asio::error::connection_reset) {
        spdlog::info("connection {} from {}: read failed: {}", id_, peer_, e.code().message());
      }
      close();
    }
  }

  void complete(uint64_t seq, dispatch_result r) {
    if (closed_ || seq < first_seq_) return;
    if (r.what == dispatch_result::kind::close) {
      spdlog::warn("connection {} from {}: {}; closing the connection", id_, peer_, r.close_reason);
      close();
      return;
    }
    auto& s = pending_[seq - first_seq_];
    s.ready = true;
    s.result = std::move(r);
    response_ready_.notify();
  }

  awaitable<void> write_loop() {
    try {
      while (!closed_) {
        if (pending_.empty() || !pending_.front().ready) {
          co_await response_ready_.wait();
          continue;
        }
        // Gather every response that is ready, in order, into one write.
        std::vector<slot> batch;
        while (!pending_.empty() && pending_.front().ready) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
          ++first_seq_;
        }
        slot_freed_.notify();
        std::vector<std::array<uint8_t, 4>> sizes;
        sizes.reserve(batch.size());
        std::vector<asio::const_buffer> buffers;
        for (auto& s : batch) {
          if (s.result.what != dispatch_result::kind::respond) continue;
          sizes.push_back(be32(static_cast<uint32_t>(s.result.header.size() + s.result.body.size())));
          buffers.emplace_back(asio::buffer(sizes.back()));
          buffers.emplace_back(asio::buffer(s.result.header));
          if (!s.result.body.empty()) buffers.emplace_back(asio::buffer(s.result.body));
        }
        if (!buffers.empty()) co_await asio::async_write(socket_, buffers, use_awaitable);
      }
    } catch (const boost::system::system_error& e) {
      if (e.code() != asio::error::operation_aborted && e.code() != asio::error::broken_pipe &&
          e.code() != asio::error::connection_reset) {
        spdlog::info("connection {} from {}: write failed: {}", id_, peer_, e.code().message());
      }
      close();
    }
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    response_ready_.notify();
    slot_freed_.notify();
    pending_.clear();
    spdlog::debug("connection {} from {} closed", id_, peer_);
    registry_.remove(shared_from_this());
  }

  tcp::socket socket_;
  dispatcher& dispatcher_;
  const server_options& options_;
  session_registry& registry_;
  uint64_t id_;
  std::string peer_;
  signal response_ready_;
  signal slot_freed_;
  std::deque<slot> pending_;
  uint64_t next_seq_ = 0;
  uint64_t first_seq_ = 0;
  bool closed_ = false;
};

class timer_task : public scheduled_task {
 public:
  explicit timer_task(asio::io_context& ioc) : timer_(asio::make_strand(ioc)) {}
  void cancel() override {
    auto t = timer_ptr_.lock();
    if (!t) return;
    asio::post(timer_.get_executor(), [t] { t->timer_.cancel(); });
  }
  asio::steady_timer timer_;
  std::weak_ptr<timer_task> timer_ptr_;
};

class asio_scheduler : public scheduler {
 public:
  explicit asio_scheduler(asio::io_context& ioc) : ioc_(ioc) {}
  std::shared_ptr<scheduled_task> after(std::chrono::milliseconds delay, std::function<void()> task) override {
    auto t = std::make_shared<timer_task>(ioc_);
    t->timer_ptr_ = t;
    t->timer_.expires_after(delay);
    t->timer_.async_wait([t, task = std::move(task)](const boost::system::error_code& ec) {
      if (!ec) task();
    });
    return t;
  }

 private:
  asio::io_context& ioc_;
};

}  // namespace

struct server::impl {
  impl(server_options o, dispatcher& d)
      : options(std::move(o)), dispatch(d), acceptor(ioc), signals(ioc, SIGINT, SIGTERM), timers(ioc) {}

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(ioc), asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopping) co_return;
      if (ec) {
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      std::make_shared<session>(std::move(socket), dispatch, options, sessions, ++connection_ids)->start();
    }
  }

  void shutdown() {
    if (stopping.exchange(true)) return;
    asio::post(ioc, [this] {
      boost::system::error_code ec;
      acceptor.close(ec);
      signals.cancel(ec);
      for (auto& s : sessions.snapshot()) s->close_async();
      // Let the sessions' close handlers run, then stop the threads.
      asio::post(ioc, [this] { ioc.stop(); });
    });
  }

  server_options options;
  dispatcher& dispatch;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio_scheduler timers;
  session_registry sessions;
  std::atomic<uint64_t> connection_ids{0};
  std::atomic<bool> stopping{false};
};

server::server(server_options options, dispatcher& d) : impl_(std::make_unique<impl>(std::move(options), d)) {}

server::~server() = default;

void server::listen() {
  auto address = asio::ip::make_address(impl_->options.host);
  tcp::endpoint endpoint(address, impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

uint16_t server::bound_port() const { return impl_->acceptor.local_endpoint().port(); }

void server::run() {
  impl_->signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signo);
    impl_->shutdown();
  });
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("accept loop failed: {}", ex.what());
    }
  });
  int n = impl_->options.threads > 0 ? impl_->options.threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void server::stop() { impl_->shutdown(); }

scheduler& server::timers() { return impl_->timers; }

}  // namespace geomirror::net
