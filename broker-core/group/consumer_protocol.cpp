#include "broker-core/group/consumer_protocol.h"

#include "broker-core/protocol/messages/consumer_protocol_subscription.h"

namespace geomirror::group {

std::optional<std::vector<std::string>> subscription_topics(std::span<const uint8_t> metadata) {
  try {
    protocol::reader r(metadata);
    if (r.read_int16() < 0) return std::nullopt;
    // Version 0 is a prefix of every later version: its fields (topics,
    // user data) come first whatever the member wrote.
    protocol::consumer_protocol_subscription subscription;
    subscription.decode(r, 0);
    return std::move(subscription.topics);
  } catch (const protocol::decode_error&) {
    return std::nullopt;
  }
}

}  // namespace geomirror::group
