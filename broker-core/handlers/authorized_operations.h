#pragma once
// Bit sets of the ACL operations a client may perform, as reported by
// Metadata and DescribeCluster when asked (KIP-430). geomirror has no
// authorizer, so every operation Kafka defines for the resource is allowed.

#include <cstdint>
#include <initializer_list>

namespace geomirror::handlers {

// org.apache.kafka.common.acl.AclOperation codes.
enum class acl_operation : int8_t {
  read = 3, write = 4, create = 5, delete_ = 6, alter = 7, describe = 8, cluster_action = 9,
  describe_configs = 10, alter_configs = 11, idempotent_write = 12, create_tokens = 13, describe_tokens = 14,
};

constexpr int32_t operations_mask(std::initializer_list<acl_operation> ops) {
  int32_t mask = 0;
  for (auto op : ops) mask |= int32_t{1} << static_cast<int>(op);
  return mask;
}

constexpr int32_t topic_operations = operations_mask(
    {acl_operation::read, acl_operation::write, acl_operation::create, acl_operation::delete_, acl_operation::alter,
     acl_operation::describe, acl_operation::describe_configs, acl_operation::alter_configs});

// Kafka's ACL operations on a GROUP resource.
constexpr int32_t group_operations =
    operations_mask({acl_operation::read, acl_operation::describe, acl_operation::delete_});

constexpr int32_t cluster_operations = operations_mask(
    {acl_operation::create, acl_operation::alter, acl_operation::describe, acl_operation::cluster_action,
     acl_operation::describe_configs, acl_operation::alter_configs, acl_operation::idempotent_write,
     acl_operation::create_tokens, acl_operation::describe_tokens});

}  // namespace geomirror::handlers
