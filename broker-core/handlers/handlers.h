#pragma once
// One function per served API; each lives in its own <api>.cpp.

#include "broker-core/handlers/request_context.h"

namespace geomirror::handlers {

void handle_api_versions(const request_context& ctx, responder r);
void handle_metadata(const request_context& ctx, responder r);
void handle_produce(const request_context& ctx, responder r);
void handle_fetch(const request_context& ctx, responder r);
void handle_list_offsets(const request_context& ctx, responder r);
void handle_create_topics(const request_context& ctx, responder r);
void handle_delete_topics(const request_context& ctx, responder r);
void handle_create_partitions(const request_context& ctx, responder r);
void handle_describe_configs(const request_context& ctx, responder r);
void handle_describe_cluster(const request_context& ctx, responder r);
void handle_find_coordinator(const request_context& ctx, responder r);
void handle_join_group(const request_context& ctx, responder r);
void handle_sync_group(const request_context& ctx, responder r);
void handle_heartbeat(const request_context& ctx, responder r);
void handle_leave_group(const request_context& ctx, responder r);
void handle_offset_commit(const request_context& ctx, responder r);
void handle_offset_fetch(const request_context& ctx, responder r);
void handle_offset_delete(const request_context& ctx, responder r);
void handle_list_groups(const request_context& ctx, responder r);
void handle_describe_groups(const request_context& ctx, responder r);
void handle_delete_groups(const request_context& ctx, responder r);
void handle_init_producer_id(const request_context& ctx, responder r);
void handle_delete_records(const request_context& ctx, responder r);
void handle_alter_configs(const request_context& ctx, responder r);
void handle_incremental_alter_configs(const request_context& ctx, responder r);

}  // namespace geomirror::handlers
