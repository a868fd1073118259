"""Emits the test-support sample fillers (samples/*) and the API catalog."""
import re

from cpp import FALSE, TRUE, banner, guarded, if_else, indent, value_type, version_cond
from emit_codec import qualified
from schema import NULLABLE_KINDS

SCALAR_SAMPLES = {
    "int8": "values.integer<int8_t>({d})", "int16": "values.integer<int16_t>({d})",
    "int32": "values.integer<int32_t>({d})", "int64": "values.integer<int64_t>({d})",
    "uint16": "values.integer<uint16_t>({d})", "uint32": "values.integer<uint32_t>({d})",
    "float64": "values.float64({d})",
}


class SampleEmitter:
    """fill(<struct>&, version, kind, values) for every struct of a message.

    full: every field present in `version` gets a non-default value, arrays
    two elements, nullable structs are present, flexible structs carry two
    unknown tagged fields. edge: nullable fields of that version are null,
    others empty (strings, bytes, arrays) or left at their default.
    """

    def __init__(self, message, source):
        self.m = message
        self.source = source

    def qual(self, struct):
        return qualified(self.m, struct)

    def qualify_type(self, t):
        return self.qual(t.struct)

    def source_file(self):
        m = self.m
        # Only this message's header (not fill_samples.h, which includes them
        # all), so that sample TUs stay cheap as schemas are added.
        lines = banner(self.source) + [f'#include "broker-core/protocol/messages/{m.snake}.h"',
                                       '#include "broker-core/protocol/testing/message_samples.h"', "",
                                       "namespace geomirror::protocol::testing {", "", "namespace {", ""]
        for struct in m.structs + [m.top]:
            lines += self.fill_fn(struct) + [""]
        lines += ["}  // namespace", "",
                  "// Declared in samples/fill_samples.h.",
                  f"void fill_sample({m.snake}& m, int16_t version, sample_kind kind) {{",
                  "  sample_values values;",
                  "  fill(m, version, kind, values);",
                  "}", "", "}  // namespace geomirror::protocol::testing", ""]
        return "\n".join(lines)

    def fill_fn(self, struct):
        body = []
        for f in struct.fields:
            body += self.field(f, struct)
        flexible = version_cond(self.m.flexible, struct.reach)
        if flexible != FALSE:
            tags = set(struct.tags)
            first = next(t for t in range(len(tags) + 1) if t not in tags)
            second = 300 + first
            cond = "full" if flexible == TRUE else f"full && {flexible}"
            body += guarded(cond, [f"m.unknown_tags = values.unknown_tags({first}, {second});"])
        if any(re.search(r"\bfull\b", line) for line in body):
            body = ["const bool full = kind == sample_kind::full;"] + body
        params = []
        for name, decl in (("version", "int16_t version"), ("kind", "sample_kind kind"),
                           ("values", "sample_values& values")):
            used = any(re.search(rf"\b{name}\b", line) for line in body)
            params.append(decl if used else decl.replace(f" {name}", f" /*{name}*/"))
        m_param = f"{self.qual(struct)}& m" if body else f"{self.qual(struct)}& /*m*/"
        sig = f"void fill({m_param}, {', '.join(params)}) {{"
        return [sig] + indent(body) + ["}"]

    def field(self, f, struct):
        cond = version_cond(f.versions, struct.reach)
        if cond == FALSE:
            return []
        within = f.versions.intersect(struct.reach)
        full = self.full_value(f)
        if f.type.kind in NULLABLE_KINDS:
            nullable = version_cond(f.nullable, within)
        else:
            nullable = FALSE
        edge = if_else(nullable, [f"m.{f.cpp} = std::nullopt;"], self.edge_value(f))
        if not edge:
            return guarded("full" if cond == TRUE else f"full && {cond}", full)
        if edge == full:
            return guarded(cond, full)
        return guarded(cond, if_else("full", full, edge))

    def target(self, f):
        return f"m.{f.cpp}.emplace()" if f.is_optional else f"m.{f.cpp}"

    def scalar(self, t, default="0"):
        if t.kind in SCALAR_SAMPLES:
            return SCALAR_SAMPLES[t.kind].format(d=default)
        return {"bool": "true", "string": "values.text()", "bytes": "values.blob()",
                "records": "values.records()", "uuid": "values.id()"}[t.kind]

    def full_value(self, f):
        from cpp import default_value
        kind = f.type.kind
        if kind == "struct":
            return [f"fill({self.target(f)}, version, kind, values);"]
        if kind == "array":
            element = f.type.element
            vector = value_type(f.type, self.qualify_type)
            if element.kind == "struct":
                return [f"m.{f.cpp} = {vector}(2);",
                        f"for (auto& element : {'*' if f.is_optional else ''}m.{f.cpp}) "
                        "fill(element, version, kind, values);"]
            first = self.scalar(element)
            second = "false" if element.kind == "bool" else first
            return [f"m.{f.cpp} = {vector}{{{first}, {second}}};"]
        if kind == "bool":
            return [f"m.{f.cpp} = {'false' if default_value(f) == 'true' else 'true'};"]
        if kind in SCALAR_SAMPLES:
            return [f"m.{f.cpp} = {self.scalar(f.type, default_value(f))};"]
        return [f"m.{f.cpp} = {self.scalar(f.type)};"]

    def edge_value(self, f):
        kind = f.type.kind
        if kind == "struct":
            return [f"fill({self.target(f)}, version, kind, values);"]
        if kind in ("array", "string", "bytes", "records"):
            return [f"m.{f.cpp} = {value_type(f.type, self.qualify_type)}();"]
        return []


def fill_samples_header(messages):
    lines = banner("broker-core/protocol/schemas/*.json") + [
        "#pragma once", "",
        '#include "broker-core/protocol/testing/message_samples.h"', ""]
    lines += [f'#include "broker-core/protocol/messages/{m.snake}.h"' for m in messages]
    lines += ["", "#include <cstdint>", "", "namespace geomirror::protocol::testing {", "",
              "// Fill a default-constructed message with sample values valid for",
              "// `version` (see message_samples.h for the two kinds).", ""]
    lines += [f"void fill_sample({m.snake}& m, int16_t version, sample_kind kind);" for m in messages]
    lines += ["", "}  // namespace geomirror::protocol::testing", ""]
    return "\n".join(lines)


def sample_registry(messages):
    lines = banner("broker-core/protocol/schemas/*.json") + [
        '#include "broker-core/protocol/samples/fill_samples.h"', "",
        "namespace geomirror::protocol::testing {", "", "namespace {", "",
        "template <class M>",
        "M make(int16_t version, sample_kind kind) {",
        "  M m;",
        "  fill_sample(m, version, kind);",
        "  return m;",
        "}", "",
        "template <class M>",
        "bytes encode_sample(int16_t version, sample_kind kind) {",
        "  return make<M>(version, kind).encode(version);",
        "}", "",
        "template <class M>",
        "bytes encode_sample_at(int16_t sample_version, sample_kind kind, int16_t version) {",
        "  return make<M>(sample_version, kind).encode(version);",
        "}", "",
        "template <class M>",
        "round_trip_result round_trip(int16_t version, sample_kind kind) {",
        "  const M sample = make<M>(version, kind);",
        "  round_trip_result result;",
        "  result.encoded = sample.encode(version);",
        "  const M decoded = M::decode(result.encoded, version);",
        "  result.reencoded = decoded.encode(version);",
        "  result.decoded_equals_sample = decoded == sample;",
        "  return result;",
        "}", "",
        "template <class M>",
        "bool decode_reencode(std::span<const uint8_t> data, int16_t version) {",
        "  const M first = M::decode(data, version);",
        "  const M second = M::decode(first.encode(version), version);",
        "  return first == second;",
        "}", "",
        "template <class M>",
        "constexpr message_sample entry() {",
        "  return {M::schema_name,      M::api_key,           M::min_version,",
        "          M::max_version,      M::first_flexible_version, &encode_sample<M>,",
        "          &encode_sample_at<M>, &round_trip<M>,       &decode_reencode<M>};",
        "}", "",
        f"constexpr std::array<message_sample, {len(messages)}> samples{{{{"]
    lines += [f"    entry<{m.snake}>()," for m in messages]
    lines += ["}};", "", "}  // namespace", "",
              "std::span<const message_sample> all_message_samples() { return samples; }", "",
              "}  // namespace geomirror::protocol::testing", ""]
    return "\n".join(lines)


def api_catalog(messages):
    requests = sorted((m for m in messages if m.kind == "request"), key=lambda m: m.api_key)
    header = banner("broker-core/protocol/schemas/*Request.json") + [
        "#pragma once", "",
        "#include <cstdint>",
        "#include <span>",
        "#include <string_view>", "",
        "namespace geomirror::protocol {", "",
        "// One Kafka API the generated codec serves (from its request schema).",
        "struct api_descriptor {",
        "  int16_t key;",
        "  std::string_view name;              // e.g. \"Produce\"",
        "  int16_t min_version;",
        "  int16_t max_version;                // excludes an unstable latest version",
        "  int16_t first_flexible_version;     // -1: never flexible",
        "};", "",
        "// Every API with a request schema, sorted by key.",
        "std::span<const api_descriptor> all_apis();",
        "// nullptr when the key is not in the catalog.",
        "const api_descriptor* find_api(int16_t key);", "",
        "}  // namespace geomirror::protocol", ""]
    rows = [f'    {{{m.api_key}, "{m.name[:-len("Request")]}", {m.supported.lo}, {m.supported.hi}, '
            f"{m.first_flexible}}}," for m in requests]
    source = banner("broker-core/protocol/schemas/*Request.json") + [
        '#include "broker-core/protocol/messages/api_catalog.h"', "",
        "#include <algorithm>",
        "#include <array>", "",
        "namespace geomirror::protocol {", "",
        "namespace {", "",
        f"constexpr std::array<api_descriptor, {len(requests)}> apis{{{{"] + rows + [
        "}};", "",
        "}  // namespace", "",
        "std::span<const api_descriptor> all_apis() { return apis; }", "",
        "const api_descriptor* find_api(int16_t key) {",
        "  const auto it = std::lower_bound(apis.begin(), apis.end(), key,",
        "                                   [](const api_descriptor& api, int16_t k) { return api.key < k; });",
        "  return it != apis.end() && it->key == key ? &*it : nullptr;",
        "}", "",
        "}  // namespace geomirror::protocol", ""]
    return "\n".join(header), "\n".join(source)
