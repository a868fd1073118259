#include "broker-core/group/errc.h"

#include <string>

namespace geomirror::group {
namespace {

class group_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "group"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::unknown_member_id: return "unknown member id";
      case errc::illegal_generation: return "illegal generation";
      case errc::rebalance_in_progress: return "rebalance in progress";
      case errc::inconsistent_group_protocol: return "inconsistent group protocol";
      case errc::invalid_session_timeout: return "invalid session timeout";
      case errc::invalid_group_id: return "invalid group id";
      case errc::group_max_size_reached: return "group max size reached";
      case errc::fenced_instance_id: return "fenced instance id";
      case errc::member_id_required: return "member id required";
      case errc::unknown_topic_or_partition: return "unknown topic or partition";
      case errc::offset_metadata_too_large: return "offset metadata too large";
      case errc::unstable_offset_commit: return "unstable offset commit";
      case errc::group_id_not_found: return "group id not found";
      case errc::non_empty_group: return "group is not empty";
      case errc::group_subscribed_to_topic: return "group is subscribed to the topic";
      case errc::not_coordinator: return "coordinator is shutting down";
      case errc::storage: return "group database error";
    }
    return "unknown group error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const group_category category;
  return category;
}

}  // namespace geomirror::group
