"""Emits messages/<name>.h and messages/<name>.cpp for one message."""
import re

from cpp import (FALSE, READ_WRITE, TRUE, banner, guarded, if_else, indent, is_default_check,
                 member_initializer, member_type, negate, value_type, version_cond)
from schema import NULLABLE_KINDS


def qualified(message, struct):
    return message.snake if struct.top else f"{message.snake}::{struct.cpp}"


def describe_field(f):
    notes = [str(f.versions)]
    if not f.nullable.empty:
        notes.append(f"nullable {f.nullable}")
    if f.tag is not None:
        notes.append(f"tag {f.tag} in {f.tagged}")
    if f.flexible_override is not None:
        notes.append("compact in " + str(f.flexible_override) if not f.flexible_override.empty
                     else "never compact")
    return "versions " + ", ".join(notes)


class CodecEmitter:
    def __init__(self, message, source):
        self.m = message
        self.source = source

    # ---- header -----------------------------------------------------------

    def header(self):
        m = self.m
        lines = banner(self.source) + ["#pragma once", "", '#include "broker-core/protocol/wire.h"', ""]
        std = ["cstdint", "optional", "span", "string", "string_view", "vector"]
        lines += [f"#include <{h}>" for h in std]
        lines += ["", "namespace geomirror::protocol {", ""]
        what = f"api key {m.api_key}, " if m.api_key >= 0 else ""
        flex = f"flexible {m.flexible}" if not m.flexible.empty else "never flexible"
        unstable = f"; v{m.valid.hi} is unstable and not supported" if m.unstable else ""
        lines.append(f"// {m.name} ({m.kind}): {what}versions {m.supported}, {flex}{unstable}.")
        lines.append(f"struct {m.snake} {{")
        body = [
            f"static constexpr int16_t api_key = {m.api_key};",
            f"static constexpr int16_t min_version = {m.supported.lo};",
            f"static constexpr int16_t max_version = {m.supported.hi};",
            f"static constexpr int16_t first_flexible_version = {m.first_flexible};",
            f'static constexpr std::string_view schema_name = "{m.name}";',
        ]
        for struct in m.structs:
            body += [""] + self.struct_decl(struct)
        body += [""] + self.members(m.top)
        body += [
            "",
            "// Encodes / decodes this message at `version` (encode_error /",
            "// decode_error outside [min_version, max_version]).",
            "void encode(writer& w, int16_t version) const;",
            "void decode(reader& r, int16_t version);",
            "// The whole message as bytes.",
            "[[nodiscard]] bytes encode(int16_t version) const;",
            "// Decodes a whole message: all of `data` must be consumed, otherwise",
            "// decode_error. (Kafka's Java broker ignores bytes after a request",
            "// body; decode(reader&, version) leaves them to the caller.)",
            f"[[nodiscard]] static {m.snake} decode(std::span<const uint8_t> data, int16_t version);",
            "",
            f"bool operator==(const {m.snake}&) const = default;",
        ]
        lines += indent(body) + ["};", "", "}  // namespace geomirror::protocol", ""]
        if any("std::numeric_limits" in line for line in lines):
            lines.insert(lines.index("#include <cstdint>") + 1, "#include <limits>")
        return "\n".join(lines)

    def struct_decl(self, struct):
        where = f"versions {struct.reach}" if not struct.reach.empty else "no supported version"
        lines = [f"// {struct.name} ({where}).", f"struct {struct.cpp} {{"]
        body = self.members(struct) + [
            "",
            "void encode(writer& w, int16_t version) const;",
            "void decode(reader& r, int16_t version);",
            f"bool operator==(const {struct.cpp}&) const = default;",
        ]
        return lines + indent(body) + ["};"]

    def members(self, struct):
        decls = [(f"{member_type(f)} {f.cpp}{member_initializer(f)};", describe_field(f))
                 for f in struct.fields]
        width = max([len(d) for d, _ in decls if len(d) <= 56] + [0])
        lines = []
        for d, c in decls:
            if len(d) + len(c) > 90:
                lines += [f"// {c}", d]
            else:
                lines.append(f"{d:<{width}}  // {c}")
        lines.append("unknown_tagged_fields unknown_tags;")
        return lines

    # ---- source -----------------------------------------------------------

    def source_file(self):
        m = self.m
        lines = banner(self.source) + [f'#include "broker-core/protocol/messages/{m.snake}.h"', "",
                                       "namespace geomirror::protocol {", ""]
        for struct in m.structs + [m.top]:
            lines += self.encode_fn(struct) + [""] + self.decode_fn(struct) + [""]
        lines += [
            f"bytes {m.snake}::encode(int16_t version) const {{",
            "  bytes out;",
            "  writer w(out);",
            "  encode(w, version);",
            "  return out;",
            "}",
            "",
            f"{m.snake} {m.snake}::decode(std::span<const uint8_t> data, int16_t version) {{",
            "  detail::check_decode_version(schema_name, version, min_version, max_version);",
            f"  {m.snake} message;",
            "  reader r(data);",
            "  try {",
            "    message.decode(r, version);",
            "    r.expect_end(schema_name);",
            "  } catch (const decode_error& e) {",
            "    detail::rethrow_decode_error(schema_name, version, e);",
            "  }",
            "  return message;",
            "}",
            "",
            "}  // namespace geomirror::protocol",
            "",
        ]
        return "\n".join(lines)

    def flexible_cond(self, struct):
        return version_cond(self.m.flexible, struct.reach)

    def prologue(self, struct, body):
        """Declares `flexible` after the version check and reset, if used."""
        flexible = self.flexible_cond(struct)
        if not any(re.search(r"\bflexible\b", line) for line in body):
            return body
        at = 0
        while at < len(body) and body[at].startswith(("detail::check_", "*this = ")):
            at += 1
        qualifier = "constexpr" if flexible in (TRUE, FALSE) else "const"
        return body[:at] + [f"{qualifier} bool flexible = {flexible};"] + body[at:]

    @staticmethod
    def signature(text, body, names):
        for name in names:
            if not any(re.search(rf"\b{name}\b", line) for line in body):
                text = text.replace(f" {name})", f" /*{name}*/)").replace(f" {name},", f" /*{name}*/,")
        return text

    def encode_fn(self, struct):
        body = []
        if struct.top:
            body.append("detail::check_encode_version(schema_name, version, min_version, max_version);")
        self.struct = struct
        body += self.regular_fields(struct, lambda f, n: self.encode_value(f, f.cpp, "w", self.compact(f, struct), n))
        body += self.encode_tagged(struct)
        body = self.prologue(struct, body)
        sig = self.signature(f"void {qualified(self.m, struct)}::encode(writer& w, int16_t version) const {{",
                             body, ["w", "version"])
        return [sig] + indent(body) + ["}"]

    def decode_fn(self, struct):
        body = []
        if struct.top:
            body.append("detail::check_decode_version(schema_name, version, min_version, max_version);")
        body.append(f"*this = {struct.cpp}();")
        body += self.regular_fields(struct, lambda f, n: self.decode_value(f, f.cpp, "r", self.compact(f, struct), n))
        body += self.decode_tagged(struct)
        body = self.prologue(struct, body)
        sig = self.signature(f"void {qualified(self.m, struct)}::decode(reader& r, int16_t version) {{",
                             body, ["r", "version"])
        return [sig] + indent(body) + ["}"]

    def compact(self, f, struct, tagged=False):
        if f.flexible_override is not None:
            within = (f.tagged_range if tagged else f.regular_range).intersect(struct.reach)
            return version_cond(f.flexible_override, within)
        return "true" if tagged else "flexible"

    def regular_fields(self, struct, gen):
        """The non-tagged fields in wire order; consecutive fields under the
        same version condition share one `if`."""
        groups = []
        for f in struct.fields:
            cond = version_cond(f.regular_range, struct.reach)
            if cond == FALSE:
                continue
            body = self.field_code(f, struct, f.regular_range, lambda n, f=f: gen(f, n), guard=False)
            if groups and groups[-1][0] == cond:
                groups[-1][1].extend(body)
            else:
                groups.append((cond, list(body)))
        lines = []
        for cond, body in groups:
            lines += guarded(cond, body)
        return lines

    def field_code(self, f, struct, versions, gen, guard=True):
        """Code for `f` in `versions` (under a version check unless `guard` is
        false), branching on nullability when it varies."""
        within = versions.intersect(struct.reach)
        cond = version_cond(versions, struct.reach)
        if cond == FALSE:
            return []
        if f.type.kind in NULLABLE_KINDS:
            nullable = version_cond(f.nullable, within)
        else:
            nullable = FALSE
        body = if_else(nullable, gen(True), gen(False))
        return guarded(cond, body) if guard else body

    # ---- values -----------------------------------------------------------

    def encode_value(self, f, expr, w, compact, nullable):
        kind = f.type.kind
        path = ".".join([self.m.name] + ([] if self.struct.top else [self.struct.name]) + [f.name])
        value = expr
        if f.is_optional and not nullable:
            value = f'require_value({expr}, "{path}", version)'
        if kind in READ_WRITE:
            return [f"{w}.write_{READ_WRITE[kind]}({expr});"]
        if kind == "string":
            if nullable:
                return [f"{w}.write_nullable_string({expr}, {compact});"]
            return [f"{w}.write_string({value}, {compact});"]
        if kind in ("bytes", "records"):
            what = "bytes" if kind == "bytes" else "records"
            if nullable:
                return [f"{w}.write_nullable_{what}({expr}, {compact});"]
            return [f"{w}.write_{what}({value}, {compact});"]
        if kind == "struct":
            if nullable:
                return if_else(expr, [f"{w}.write_int8(1);", f"{expr}->encode({w}, version);"],
                               [f"{w}.write_int8(-1);"])
            return [f"{value}.encode({w}, version);"]
        # array
        element = self.encode_element(f.type.element, w, compact)
        if nullable:
            return if_else(f"!{expr}", [f"{w}.write_null_array({compact});"],
                           [f"{w}.write_array_length({expr}->size(), {compact});",
                            f"for (const auto& element_ : *{expr}) {element}"])
        elements = f"*{expr}" if f.is_optional else expr
        return [f"{w}.write_array_length({value}.size(), {compact});",
                f"for (const auto& element_ : {elements}) {element}"]

    @staticmethod
    def encode_element(t, w, compact):
        if t.kind == "struct":
            return f"element_.encode({w}, version);"
        if t.kind == "string":
            return f"{w}.write_string(element_, {compact});"
        if t.kind == "bytes":
            return f"{w}.write_bytes(element_, {compact});"
        return f"{w}.write_{READ_WRITE[t.kind]}(element_);"

    def decode_value(self, f, expr, r, compact, nullable):
        kind = f.type.kind
        if kind in READ_WRITE:
            return [f"{expr} = {r}.read_{READ_WRITE[kind]}();"]
        if kind == "string":
            return [f"{expr} = {r}.read_{'nullable_' if nullable else ''}string({compact});"]
        if kind in ("bytes", "records"):
            what = "bytes" if kind == "bytes" else "records"
            return [f"{expr} = {r}.read_{'nullable_' if nullable else ''}{what}({compact});"]
        if kind == "struct":
            if nullable:
                return if_else(f"{r}.read_int8() < 0", [f"{expr}.reset();"],
                               [f"{expr}.emplace().decode({r}, version);"])
            target = f"{expr}.emplace()" if f.is_optional else expr
            return [f"{target}.decode({r}, version);"]
        # array
        element = self.decode_element(f.type.element, "elements_", r, compact)
        if nullable:
            return [f"if (const auto count_ = {r}.read_nullable_array_length({compact})) {{",
                    f"  auto& elements_ = {expr}.emplace();",
                    f"  for (size_t i_ = 0; i_ < *count_; ++i_) {element}",
                    "} else {",
                    f"  {expr}.reset();",
                    "}"]
        if f.is_optional:
            return ["{",
                    f"  auto& elements_ = {expr}.emplace();",
                    f"  const size_t count_ = {r}.read_array_length({compact});",
                    f"  for (size_t i_ = 0; i_ < count_; ++i_) {element}",
                    "}"]
        element = self.decode_element(f.type.element, expr, r, compact)
        return ["{",
                f"  const size_t count_ = {r}.read_array_length({compact});",
                f"  for (size_t i_ = 0; i_ < count_; ++i_) {element}",
                "}"]

    @staticmethod
    def decode_element(t, elements, r, compact):
        if t.kind == "struct":
            return f"{elements}.emplace_back().decode({r}, version);"
        if t.kind in ("string", "bytes"):
            return f"{elements}.push_back({r}.read_{t.kind}({compact}));"
        return f"{elements}.push_back({r}.read_{READ_WRITE[t.kind]}());"

    # ---- tagged sections --------------------------------------------------

    def tagged_fields(self, struct):
        """Tagged fields that can appear in a supported version, by tag."""
        flexible = self.m.flexible.intersect(struct.reach)
        return sorted((f for f in struct.fields if f.tag is not None
                       and not f.tagged_range.intersect(flexible).empty), key=lambda f: f.tag)

    def encode_tagged(self, struct):
        flexible = self.flexible_cond(struct)
        if flexible == FALSE:
            return []
        fields = self.tagged_fields(struct)
        if not fields:
            return guarded("flexible" if flexible != TRUE else TRUE,
                           ["write_tagged_fields(w, unknown_tags);"])
        flex_range = self.m.flexible.intersect(struct.reach)
        body = ["tagged_fields_writer tagged_;"]
        for f in fields:
            cond = version_cond(f.tagged_range, flex_range)
            changed = is_default_check(f, f.cpp)
            full = changed if cond == TRUE else f"{cond} && {changed}"
            value = self.field_code(f, struct, f.tagged_range, lambda n, f=f: self.encode_value(
                f, f.cpp, "out_", self.compact(f, struct, tagged=True), n), guard=False)
            if len(value) == 1:
                add = [f"tagged_.add({f.tag}, [&](writer& out_) {{ {value[0]} }});"]
            else:
                add = [f"tagged_.add({f.tag}, [&](writer& out_) {{"] + indent(value) + ["});"]
            body += guarded(full, add)
        body.append("tagged_.finish(w, unknown_tags);")
        return guarded("flexible" if flexible != TRUE else TRUE, body)

    def decode_tagged(self, struct):
        flexible = self.flexible_cond(struct)
        if flexible == FALSE:
            return []
        fields = self.tagged_fields(struct)
        if not fields:
            return guarded("flexible" if flexible != TRUE else TRUE,
                           ["read_tagged_fields(r, unknown_tags);"])
        flex_range = self.m.flexible.intersect(struct.reach)
        cases = []
        for f in fields:
            cond = version_cond(f.tagged_range, flex_range)
            value = self.field_code(f, struct, f.tagged_range, lambda n, f=f: self.decode_value(
                f, f.cpp, "in_", self.compact(f, struct, tagged=True), n), guard=False)
            cases.append(f"case {f.tag}:")
            if cond != TRUE:
                cases.append(f"  if ({negate(cond)}) return false;")
            cases += indent(value) + ["  return true;"]
        cases += ["default:", "  return false;"]
        body = (["read_tagged_fields(r, unknown_tags, [&](uint32_t tag_, reader& in_) {",
                 "  switch (tag_) {"] + indent(cases, 2) + ["  }", "});"])
        return guarded("flexible" if flexible != TRUE else TRUE, body)


def emit(message, source):
    e = CodecEmitter(message, source)
    return e.header(), e.source_file()

