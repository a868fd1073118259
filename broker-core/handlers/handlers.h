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

}  // namespace geomirror::handlers
