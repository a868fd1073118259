#include "tests/support/raw_client.h"

#include "broker-core/base/endian.h"

#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace geomirror::testing {
namespace {

void write_all(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) throw std::runtime_error("raw_client: send failed");
    data += w;
    n -= static_cast<size_t>(w);
  }
}

void read_all(int fd, uint8_t* data, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, data, n, 0);
    if (r <= 0) throw std::runtime_error("raw_client: connection closed by the broker");
    data += r;
    n -= static_cast<size_t>(r);
  }
}

}  // namespace

raw_client::raw_client(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("raw_client: cannot connect to port " + std::to_string(port));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

raw_client::~raw_client() {
  if (fd_ >= 0) ::close(fd_);
}

protocol::bytes raw_client::exchange(const protocol::bytes& frame) {
  protocol::bytes body;
  exchange_into(frame, body);
  return body;
}

void raw_client::exchange_into(const protocol::bytes& frame, protocol::bytes& body) {
  uint8_t size[4];
  base::store_be32(size, static_cast<uint32_t>(frame.size()));
  write_all(fd_, size, 4);
  write_all(fd_, frame.data(), frame.size());
  read_all(fd_, size, 4);
  body.resize(base::load_be32(size));
  read_all(fd_, body.data(), body.size());
}

}  // namespace geomirror::testing
