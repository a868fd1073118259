#include "broker-core/net/server.h"

#include "broker-core/base/endian.h"
#include "broker-core/net/asio.h"
#include "broker-core/net/memory_budget.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

namespace geomirror::net {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using steady = std::chrono::steady_clock;

// Frames grow in steps of at least this much as their bytes arrive.
constexpr size_t read_step = 64 * 1024;

// A steady_timer used as a wake-up signal between coroutines of one strand.
class signal {
 public:
  explicit signal(const asio::any_io_executor& ex) : timer_(ex) { timer_.expires_at(steady::time_point::max()); }
  void notify() { timer_.cancel(); }
  // Returns after notify() or at `deadline`.
  awaitable<void> wait(steady::time_point deadline = steady::time_point::max()) {
    timer_.expires_at(deadline);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }

 private:
  asio::steady_timer timer_;
};

class session;

// Tracks live sessions so stop() can close them and the idle sweep can visit them.
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
  std::vector<std::shared_ptr<session>> snapshot() const {
    std::lock_guard lock(mu_);
    return {sessions_.begin(), sessions_.end()};
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }

 private:
  mutable std::mutex mu_;
  std::set<std::shared_ptr<session>> sessions_;
};

// What one connection's frames hold, shared with the frames so they can give
// their memory back from whichever thread drops the last reference.
struct connection_memory {
  std::shared_ptr<memory_budget> budget;
  std::atomic<size_t> held{0};
  std::weak_ptr<session> owner;  // set before the first frame is read
};

// A request frame and the budget it took; freeing it gives the bytes back
// and wakes the connection's reader, which may be waiting for that.
struct frame_holder {
  explicit frame_holder(std::shared_ptr<connection_memory> m) : memory(std::move(m)) {}
  ~frame_holder();
  frame_holder(const frame_holder&) = delete;
  frame_holder& operator=(const frame_holder&) = delete;

  void account(size_t n) {
    accounted += n;
    memory->held.fetch_add(n);
  }

  std::shared_ptr<connection_memory> memory;
  frame_bytes bytes;
  size_t accounted = 0;
};

// One client connection: a reader coroutine that frames requests and hands
// them to the dispatcher in order, and a writer coroutine that sends
// responses strictly in request order as they complete (file slices with
// sendfile). Everything below runs on the connection's strand.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, dispatcher& d, const server_options& options, session_registry& registry,
          std::shared_ptr<memory_budget> budget, uint64_t id)
      : socket_(std::move(socket)),
        dispatcher_(d),
        options_(options),
        registry_(registry),
        memory_(std::make_shared<connection_memory>()),
        id_(id),
        response_ready_(socket_.get_executor()),
        slot_freed_(socket_.get_executor()),
        budget_granted_(socket_.get_executor()),
        last_activity_(steady::now()) {
    memory_->budget = std::move(budget);
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start() {
    registry_.add(shared_from_this());
    spdlog::debug("connection {} from {} opened", id_, peer_);
    auto self = shared_from_this();
    memory_->owner = self;
    asio::co_spawn(socket_.get_executor(), [self] { return self->read_loop(); }, asio::detached);
    asio::co_spawn(socket_.get_executor(), [self] { return self->write_loop(); }, asio::detached);
  }

  // Safe from any thread: request memory of this connection was freed.
  void memory_released() {
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self] { self->slot_freed_.notify(); });
  }

  // Safe from any thread: the budget granted what acquire() waits for.
  void budget_granted() {
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self] { self->budget_granted_.notify(); });
  }

  // Safe from any thread.
  void close_async(std::string reason) {
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self, reason = std::move(reason)] {
      self->close(reason, spdlog::level::debug);
    });
  }

  // Safe from any thread: closes the connection if it has been idle too long.
  void check_idle_async(int64_t idle_ms) {
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self, idle_ms] {
      if (self->closed_ || !self->pending_.empty()) return;
      const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - self->last_activity_);
      if (idle.count() >= idle_ms) {
        self->close(fmt::format("idle for {} ms (connections.max.idle.ms={})", idle.count(), idle_ms),
                    spdlog::level::info);
      }
    });
  }

 private:
  struct slot {
    bool ready = false;
    dispatch_result result;
  };

  // One piece of outgoing data: memory, or a file slice for sendfile.
  struct out_piece {
    asio::const_buffer memory;
    const base::file_slice* file = nullptr;
  };

  void touch() { last_activity_ = steady::now(); }

  // Takes `n` bytes of request memory, waiting for other requests to give
  // some back; false if the connection closed or waited too long meanwhile.
  awaitable<bool> acquire(size_t n) {
    auto& budget = *memory_->budget;
    if (budget.try_acquire(n)) co_return true;
    // pending -> granted (the bytes are ours) or pending -> abandoned (the
    // grant callback gives them back).
    enum : int { pending, granted, abandoned };
    auto state = std::make_shared<std::atomic<int>>(pending);
    auto weak = std::weak_ptr<session>(shared_from_this());
    const uint64_t id = budget.acquire(n, [state, weak, n, shared = memory_->budget] {
      int expected = pending;
      if (!state->compare_exchange_strong(expected, granted)) {
        shared->release(n);
        return;
      }
      if (auto s = weak.lock()) s->budget_granted();
    });
    const auto deadline = steady::now() + std::chrono::milliseconds(options_.budget_wait_ms);
    while (state->load() != granted) {
      if (closed_ || steady::now() >= deadline) {
        if (!budget.cancel(id)) {
          int expected = pending;
          if (!state->compare_exchange_strong(expected, abandoned)) budget.release(n);  // granted meanwhile
        }
        if (!closed_) {
          close(fmt::format("waited {} ms for {} bytes of request memory (queued.max.request.bytes={} all held by "
                            "other requests) with a request half read",
                            options_.budget_wait_ms, n, budget.limit()),
                spdlog::level::warn);
        }
        co_return false;
      }
      co_await budget_granted_.wait(deadline);
    }
    co_return true;
  }

  // Reads one frame of `size` bytes, growing the buffer as bytes arrive so a
  // frame that announces much and sends little holds little.
  awaitable<std::shared_ptr<frame_holder>> read_frame(size_t size) {
    auto holder = std::make_shared<frame_holder>(memory_);
    holder->bytes.reserve(size);
    size_t filled = 0;
    while (filled < size) {
      if (filled == holder->bytes.size()) {
        boost::system::error_code ec;
        const size_t available = socket_.available(ec);
        const size_t want = std::min(size - filled, std::max(read_step, ec ? size_t{0} : available));
        if (!co_await acquire(want)) co_return nullptr;
        holder->account(want);
        holder->bytes.resize(filled + want);
      }
      filled += co_await socket_.async_read_some(
          asio::buffer(holder->bytes.data() + filled, holder->bytes.size() - filled), use_awaitable);
      touch();
    }
    co_return holder;
  }

  bool must_pause_reading() const {
    return (barrier_seq_ && first_seq_ <= *barrier_seq_) || pending_.size() >= options_.max_inflight_per_connection ||
           memory_->held.load() >= static_cast<size_t>(options_.max_request_bytes);
  }

  awaitable<void> read_loop() {
    try {
      for (;;) {
        while (!closed_ && must_pause_reading()) co_await slot_freed_.wait();
        if (closed_) break;
        std::array<uint8_t, 4> size_bytes{};
        co_await asio::async_read(socket_, asio::buffer(size_bytes), use_awaitable);
        touch();
        const auto size = static_cast<int32_t>(base::load_be32(size_bytes.data()));
        if (size < 8 || size > options_.max_request_bytes) {
          close(fmt::format("request frame of {} bytes is outside 8..{} (socket.request.max.bytes)", size,
                            options_.max_request_bytes),
                spdlog::level::warn);
          break;
        }
        auto holder = co_await read_frame(static_cast<size_t>(size));
        if (!holder || closed_) break;
        request_frame frame{std::shared_ptr<const frame_bytes>(holder, &holder->bytes), peer_, id_};
        const bool barrier = dispatcher_.is_barrier(frame);
        while (barrier && !closed_ && !pending_.empty()) co_await slot_freed_.wait();
        if (closed_) break;
        uint64_t seq = next_seq_++;
        if (barrier) barrier_seq_ = seq;
        pending_.emplace_back();
        auto self = shared_from_this();
        dispatcher_.dispatch(
            frame,
            [self, seq](dispatch_result r) {
              asio::post(self->socket_.get_executor(),
                         [self, seq, r = std::move(r)]() mutable { self->complete(seq, std::move(r)); });
            });
      }
    } catch (const boost::system::system_error& e) {
      on_socket_error("read", e.code());
    } catch (const std::exception& e) {
      close(fmt::format("reading a request failed: {}", e.what()), spdlog::level::err);
    }
  }

  void complete(uint64_t seq, dispatch_result r) {
    if (closed_ || seq < first_seq_) return;
    if (r.what == dispatch_result::kind::close) {
      close(r.close_reason, spdlog::level::warn);
      return;
    }
    auto& s = pending_[seq - first_seq_];
    s.ready = true;
    s.result = std::move(r);
    response_ready_.notify();
  }

  // Sends `pieces` in order: runs of memory with one gathered write, file
  // slices with sendfile on the non-blocking socket.
  awaitable<void> send(const std::vector<out_piece>& pieces) {
    std::vector<asio::const_buffer> run;
    for (size_t i = 0; i <= pieces.size(); ++i) {
      if (i < pieces.size() && !pieces[i].file) {
        run.push_back(pieces[i].memory);
        continue;
      }
      if (!run.empty()) {
        co_await asio::async_write(socket_, run, use_awaitable);
        run.clear();
      }
      if (i < pieces.size()) co_await send_file(*pieces[i].file);
    }
    touch();
  }

  awaitable<void> send_file(const base::file_slice& slice) {
    if (!socket_.native_non_blocking()) socket_.native_non_blocking(true);
    off_t offset = static_cast<off_t>(slice.offset);
    uint64_t left = slice.length;
    while (left > 0) {
      const ssize_t n = ::sendfile(socket_.native_handle(), slice.fd, &offset, left);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        co_await socket_.async_wait(tcp::socket::wait_write, use_awaitable);
        continue;
      }
      // 0 means the file is shorter than the slice: nothing may be sent in
      // its place, the response would be corrupt.
      const int err = n == 0 ? EIO : errno;
      throw boost::system::system_error(boost::system::error_code(err, boost::system::system_category()),
                                        n == 0 ? "sendfile: file shorter than the slice" : "sendfile");
    }
  }

  void set_cork(bool on) {
    const int v = on ? 1 : 0;
    ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
  }

  awaitable<void> write_loop() {
    try {
      while (!closed_) {
        if (pending_.empty() || !pending_.front().ready) {
          co_await response_ready_.wait();
          continue;
        }
        // Gather every response that is ready, in order, into one send.
        std::vector<slot> batch;
        while (!pending_.empty() && pending_.front().ready) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
          ++first_seq_;
        }
        slot_freed_.notify();
        std::vector<std::array<uint8_t, 4>> sizes;
        sizes.reserve(batch.size());
        std::vector<out_piece> pieces;
        bool has_files = false;
        for (auto& s : batch) {
          if (s.result.what != dispatch_result::kind::respond) continue;
          const auto& r = s.result;
          base::store_be32(sizes.emplace_back().data(), static_cast<uint32_t>(r.size()));
          pieces.push_back({asio::buffer(sizes.back())});
          pieces.push_back({asio::buffer(r.header)});
          size_t at = 0;
          for (const auto& sp : r.splices) {
            if (sp.at > at) pieces.push_back({asio::buffer(r.body.data() + at, sp.at - at)});
            pieces.push_back({{}, &sp.slice});
            at = sp.at;
            has_files = true;
          }
          if (at < r.body.size()) pieces.push_back({asio::buffer(r.body.data() + at, r.body.size() - at)});
        }
        if (pieces.empty()) continue;
        // Corked, a response's header and its file slices leave in full packets.
        if (has_files) set_cork(true);
        co_await send(pieces);
        if (has_files) set_cork(false);
      }
    } catch (const boost::system::system_error& e) {
      on_socket_error("write", e.code());
    } catch (const std::exception& e) {
      close(fmt::format("writing a response failed: {}", e.what()), spdlog::level::err);
    }
  }

  void on_socket_error(const char* what, const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec == asio::error::eof) {
      close("closed by the client", spdlog::level::debug);
    } else if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
      close(fmt::format("reset by the client ({})", ec.message()), spdlog::level::debug);
    } else {
      close(fmt::format("{} failed: {}", what, ec.message()), spdlog::level::info);
    }
  }

  // Ends the connection once, with one log line saying why.
  void close(const std::string& reason, spdlog::level::level_enum level) {
    if (closed_) return;
    closed_ = true;
    spdlog::log(level, "connection {} from {}: {}; closing the connection", id_, peer_, reason);
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    response_ready_.notify();
    slot_freed_.notify();
    budget_granted_.notify();
    pending_.clear();
    registry_.remove(shared_from_this());
  }

  tcp::socket socket_;
  dispatcher& dispatcher_;
  const server_options& options_;
  session_registry& registry_;
  std::shared_ptr<connection_memory> memory_;
  uint64_t id_;
  std::string peer_;
  signal response_ready_;
  signal slot_freed_;
  signal budget_granted_;
  steady::time_point last_activity_;
  std::deque<slot> pending_;
  uint64_t next_seq_ = 0;
  uint64_t first_seq_ = 0;
  std::optional<uint64_t> barrier_seq_;  // the last barrier request (is_barrier)
  bool closed_ = false;
};

frame_holder::~frame_holder() {
  if (accounted == 0) return;
  memory->budget->release(accounted);
  memory->held.fetch_sub(accounted);
  if (auto s = memory->owner.lock()) s->memory_released();
}

class timer_task : public base::scheduled_task {
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

class asio_scheduler : public base::scheduler {
 public:
  explicit asio_scheduler(asio::io_context& ioc) : ioc_(ioc) {}
  std::shared_ptr<base::scheduled_task> after(std::chrono::milliseconds delay, std::function<void()> task) override {
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
      : options(std::move(o)),
        dispatch(d),
        budget(std::make_shared<memory_budget>(std::max(options.queued_max_request_bytes,
                                                        static_cast<size_t>(options.max_request_bytes)))),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM),
        timers(ioc),
        idle_sweep(asio::make_strand(ioc)) {}

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(ioc), asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopping) co_return;
      if (ec) {
        // EMFILE and friends: wait a little rather than spin on the error.
        spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
        asio::steady_timer pause(ioc, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      std::make_shared<session>(std::move(socket), dispatch, options, sessions, budget, ++connection_ids)->start();
    }
  }

  // Visits every connection often enough to close idle ones within about a
  // tenth of connections.max.idle.ms of their limit.
  void schedule_idle_sweep() {
    if (options.connections_max_idle_ms < 0) return;
    const auto every = std::chrono::milliseconds(std::clamp<int64_t>(options.connections_max_idle_ms / 10, 10, 10'000));
    idle_sweep.expires_after(every);
    idle_sweep.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      for (auto& s : sessions.snapshot()) s->check_idle_async(options.connections_max_idle_ms);
      schedule_idle_sweep();
    });
  }

  void shutdown() {
    if (stopping.exchange(true)) return;
    asio::post(ioc, [this] {
      boost::system::error_code ec;
      acceptor.close(ec);
      signals.cancel(ec);
      idle_sweep.cancel();
      for (auto& s : sessions.snapshot()) s->close_async("the broker is shutting down");
      // Let the sessions' close handlers run, then stop the threads.
      asio::post(ioc, [this] { ioc.stop(); });
    });
  }

  server_options options;
  dispatcher& dispatch;
  std::shared_ptr<memory_budget> budget;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio_scheduler timers;
  asio::steady_timer idle_sweep;
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
  impl_->schedule_idle_sweep();
  int n = impl_->options.threads > 0 ? impl_->options.threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
}

void server::stop() { impl_->shutdown(); }

base::scheduler& server::timers() { return impl_->timers; }

size_t server::request_memory_in_use() const { return impl_->budget->in_use(); }

size_t server::connection_count() const { return impl_->sessions.size(); }

}  // namespace geomirror::net
