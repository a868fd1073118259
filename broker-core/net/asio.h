#pragma once
// The one place that includes Boost.Asio. Boost 1.74's asio/awaitable.hpp
// uses std::exchange without including <utility>, so <utility> comes first.
// Include this only from the few translation units that do I/O.

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace geomirror::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
}  // namespace geomirror::net
