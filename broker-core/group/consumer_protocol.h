#pragma once
// The consumer protocol's member metadata (ConsumerProtocolSubscription):
// what a member of a "consumer" group puts in JoinGroup's protocol metadata.
// The coordinator only reads the subscribed topics, for OffsetDelete's
// GROUP_SUBSCRIBED_TO_TOPIC and for offset expiry.

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace geomirror::group {

// The topics of a serialized subscription (int16 version, then the
// version-0 prefix every later version shares, as Kafka parses it); nullopt
// when the bytes are not a subscription.
std::optional<std::vector<std::string>> subscription_topics(std::span<const uint8_t> metadata);

}  // namespace geomirror::group
