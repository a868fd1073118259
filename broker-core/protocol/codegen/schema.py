"""Kafka message schema model for generate_protocol.py.

Parses one schema (Kafka's message JSON, `//` comment lines allowed),
validates every key it uses and resolves names, types and version ranges.
Any problem raises SchemaError naming the file and the field.
"""
import json
import re
from dataclasses import dataclass, field as dataclass_field

VERSION_MAX = 0x7FFF

TOP_KEYS = {"source", "apiKey", "type", "name", "validVersions", "deprecatedVersions",
            "flexibleVersions", "latestVersionUnstable", "fields", "commonStructs",
            "listeners"}
FIELD_KEYS = {"name", "type", "versions", "nullableVersions", "default", "ignorable",
              "tag", "taggedVersions", "flexibleVersions", "fields", "about",
              "entityType", "mapKey", "zeroCopy"}
COMMON_STRUCT_KEYS = {"name", "versions", "fields", "about"}
MESSAGE_TYPES = {"request", "response", "header", "data"}

INTEGER_RANGES = {
    "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
    "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1),
    "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
}
PRIMITIVES = set(INTEGER_RANGES) | {"bool", "float64", "string", "bytes", "uuid", "records"}
NULLABLE_KINDS = {"string", "bytes", "records", "array", "struct"}

CPP_KEYWORDS = set("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class compl concept const consteval constexpr constinit const_cast
continue co_await co_return co_yield decltype default delete do double dynamic_cast
else enum explicit export extern false float for friend goto if inline int long
mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected
public register reinterpret_cast requires return short signed sizeof static
static_assert static_cast struct switch template this thread_local throw true try
typedef typeid typename union unsigned using virtual void volatile wchar_t while xor
xor_eq final override import module
""".split())
# Names that would clash with macros or with the runtime types and members the
# generated code uses inside the message's scope.
RESERVED_NAMES = {"errno", "assert", "stdin", "stdout", "stderr", "unix", "linux", "major",
                  "minor", "std", "bytes", "uuid", "reader", "writer", "tagged_field",
                  "unknown_tagged_fields", "decode_error", "encode_error", "encode", "decode",
                  "unknown_tags", "require_value", "tagged_fields_writer",
                  "read_tagged_fields", "write_tagged_fields", "version", "flexible",
                  "geomirror", "protocol", "detail", "w", "r"}
TOP_LEVEL_RESERVED = {"api_key", "min_version", "max_version", "first_flexible_version",
                      "schema_name"}


class SchemaError(Exception):
    pass


@dataclass(frozen=True)
class Versions:
    """Inclusive version range; hi == VERSION_MAX means open-ended."""
    lo: int
    hi: int

    @property
    def empty(self):
        return self.lo > self.hi

    def intersect(self, other):
        v = Versions(max(self.lo, other.lo), min(self.hi, other.hi))
        return NO_VERSIONS if v.empty else v

    def contains(self, version):
        return self.lo <= version <= self.hi

    def covers(self, other):
        return other.empty or (not self.empty and self.lo <= other.lo and other.hi <= self.hi)

    def __str__(self):
        if self.empty:
            return "none"
        if self.hi == VERSION_MAX:
            return f"{self.lo}+"
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


NO_VERSIONS = Versions(1, 0)


def parse_versions(text, where):
    if not isinstance(text, str):
        raise SchemaError(f"{where}: version range must be a string, got {text!r}")
    text = text.strip()
    if text == "none":
        return NO_VERSIONS
    if m := re.fullmatch(r"(\d+)\+", text):
        return Versions(int(m[1]), VERSION_MAX)
    if m := re.fullmatch(r"(\d+)-(\d+)", text):
        lo, hi = int(m[1]), int(m[2])
        if lo > hi or hi > VERSION_MAX:
            raise SchemaError(f"{where}: bad version range {text!r}")
        return Versions(lo, hi)
    if re.fullmatch(r"\d+", text):
        v = int(text)
        if v > VERSION_MAX:
            raise SchemaError(f"{where}: bad version {text!r}")
        return Versions(v, v)
    raise SchemaError(f"{where}: cannot parse version range {text!r}")


def snake_case(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


@dataclass
class FieldType:
    kind: str                     # a primitive name, "array" or "struct"
    element: "FieldType" = None   # for arrays
    struct_name: str = None       # schema name, for structs
    struct: "StructSpec" = None   # resolved

    def __str__(self):
        if self.kind == "array":
            return f"[]{self.element}"
        return self.struct_name if self.kind == "struct" else self.kind


@dataclass
class FieldSpec:
    name: str
    cpp: str
    type: FieldType
    versions: Versions
    nullable: Versions
    tag: int
    tagged: Versions
    flexible_override: Versions   # None when the message setting applies
    default: object               # raw JSON value, None when absent
    where: str

    @property
    def is_optional(self):
        """The C++ member is std::optional (nullable in some version, or records)."""
        return self.type.kind == "records" or not self.nullable.empty

    @property
    def tagged_range(self):
        return self.versions.intersect(self.tagged) if self.tag is not None else NO_VERSIONS

    @property
    def regular_range(self):
        if self.tag is None:
            return self.versions
        return self.versions.intersect(Versions(0, self.tagged.lo - 1))


@dataclass
class StructSpec:
    name: str
    cpp: str
    fields: list
    where: str
    reach: Versions = None        # hull of the versions in which it is encoded
    top: bool = False

    @property
    def tags(self):
        return sorted(f.tag for f in self.fields if f.tag is not None)


@dataclass
class MessageSpec:
    name: str
    snake: str
    kind: str
    api_key: int                  # -1 for headers and data
    valid: Versions
    supported: Versions           # valid minus an unstable latest version
    flexible: Versions
    unstable: bool
    top: StructSpec
    structs: list = dataclass_field(default_factory=list)   # nested, dependency order
    path: str = ""

    @property
    def first_flexible(self):
        return -1 if self.flexible.empty else self.flexible.lo


def strip_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def load_message(path):
    where = str(path)
    try:
        raw = json.loads(strip_comments(path.read_text()))
    except json.JSONDecodeError as e:
        raise SchemaError(f"{where}: invalid JSON: {e}") from None
    return Parser(raw, where, path.stem).message()


def parse_integer(value, kind, where):
    if isinstance(value, bool):
        raise SchemaError(f"{where}: default {value!r} is not an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"-?0x[0-9a-fA-F]+", value.strip()):
        number = int(value.strip(), 16)
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        number = int(value.strip(), 10)
    else:
        raise SchemaError(f"{where}: default {value!r} is not an integer")
    lo, hi = INTEGER_RANGES[kind]
    if not lo <= number <= hi:
        raise SchemaError(f"{where}: default {value!r} does not fit {kind}")
    return number


class Parser:
    def __init__(self, raw, where, stem):
        self.raw = raw
        self.where = where
        self.stem = stem
        self.structs = {}            # schema name -> StructSpec (inline and common)

    def fail(self, message, where=None):
        raise SchemaError(f"{where or self.where}: {message}")

    def message(self):
        raw = self.raw
        if not isinstance(raw, dict):
            self.fail("top level must be an object")
        for key in raw:
            if key not in TOP_KEYS:
                self.fail(f"unknown top-level key {key!r}")
        for key in ("name", "type", "validVersions", "flexibleVersions", "fields"):
            if key not in raw:
                self.fail(f"missing top-level key {key!r}")
        name = raw["name"]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            self.fail(f"bad message name {name!r}")
        if name != self.stem:
            self.fail(f"message name {name!r} does not match the file name")
        kind = raw["type"]
        if kind not in MESSAGE_TYPES:
            self.fail(f"unknown message type {kind!r}")
        if kind in ("request", "response"):
            api_key = raw.get("apiKey")
            if not isinstance(api_key, int) or isinstance(api_key, bool) or not 0 <= api_key <= VERSION_MAX:
                self.fail(f"{kind} needs an int16 apiKey, got {api_key!r}")
        else:
            if "apiKey" in raw:
                self.fail(f"a {kind} has no apiKey")
            api_key = -1
        valid = parse_versions(raw["validVersions"], f"{self.where}: validVersions")
        if valid.empty or valid.hi == VERSION_MAX:
            self.fail(f"validVersions must be a closed non-empty range, got {valid}")
        flexible = parse_versions(raw["flexibleVersions"], f"{self.where}: flexibleVersions")
        if not flexible.empty and flexible.hi != VERSION_MAX:
            self.fail("flexibleVersions must be open-ended or none")
        if "deprecatedVersions" in raw:
            parse_versions(raw["deprecatedVersions"], f"{self.where}: deprecatedVersions")
        unstable = raw.get("latestVersionUnstable", False)
        if not isinstance(unstable, bool):
            self.fail("latestVersionUnstable must be a boolean")
        supported = Versions(valid.lo, valid.hi - 1) if unstable else valid
        if supported.empty:
            self.fail("the only valid version is unstable")
        self.flexible = flexible

        for common in raw.get("commonStructs", []):
            self.common_struct(common)
        top = StructSpec(name, snake_case(name), self.fields(raw["fields"], name), self.where, top=True)
        message = MessageSpec(name, snake_case(name), kind, api_key, valid, supported, flexible,
                              unstable, top, path=self.where)
        self.resolve(top)
        for struct in self.structs.values():
            self.resolve(struct)
        self.name_things(message)
        message.structs = self.order(top)
        Parser.compute_reach(message)
        for struct in [top] + message.structs:
            for f in struct.fields:
                self.check_field(message, f)
        return message

    def common_struct(self, raw):
        where = f"{self.where}: commonStructs"
        if not isinstance(raw, dict):
            self.fail("common struct must be an object", where)
        for key in raw:
            if key not in COMMON_STRUCT_KEYS:
                self.fail(f"unknown key {key!r} in common struct", where)
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            self.fail(f"bad struct name {name!r}", where)
        parse_versions(raw.get("versions", "0+"), f"{where}.{name}: versions")
        self.register(StructSpec(name, "", [], f"{where}.{name}"))
        self.structs[name].fields = self.fields(raw.get("fields", []), name)

    def register(self, struct):
        if struct.name in self.structs:
            self.fail(f"struct {struct.name!r} is defined twice", struct.where)
        self.structs[struct.name] = struct

    def fields(self, raw_fields, owner):
        if not isinstance(raw_fields, list):
            self.fail(f"fields of {owner} must be a list")
        result = []
        for raw in raw_fields:
            f = self.field(raw, owner)
            if any(other.name == f.name for other in result):
                self.fail(f"duplicate field {f.name!r}", f.where)
            if f.tag is not None and any(other.tag == f.tag for other in result):
                self.fail(f"duplicate tag {f.tag}", f.where)
            result.append(f)
        return result

    def field(self, raw, owner):
        if not isinstance(raw, dict):
            self.fail(f"field of {owner} must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
            self.fail(f"bad field name {name!r} in {owner}")
        where = f"{self.where}: {owner}.{name}"
        for key in raw:
            if key not in FIELD_KEYS:
                self.fail(f"unknown field key {key!r}", where)
        for key in ("type", "versions"):
            if key not in raw:
                self.fail(f"missing {key!r}", where)
        ftype = self.field_type(raw["type"], raw, where)
        versions = parse_versions(raw["versions"], f"{where}: versions")
        nullable = parse_versions(raw.get("nullableVersions", "none"), f"{where}: nullableVersions")
        if not nullable.empty and ftype.kind not in NULLABLE_KINDS:
            self.fail(f"type {ftype} cannot be nullable", where)
        tag = raw.get("tag")
        tagged = NO_VERSIONS
        if (tag is None) != ("taggedVersions" not in raw):
            self.fail("tag and taggedVersions must be given together", where)
        if tag is not None:
            if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag < 2**31:
                self.fail(f"bad tag {tag!r}", where)
            tagged = parse_versions(raw["taggedVersions"], f"{where}: taggedVersions")
            if tagged.empty or tagged.hi != VERSION_MAX:
                self.fail("taggedVersions must be open-ended", where)
            if not self.flexible.covers(tagged):
                self.fail(f"taggedVersions {tagged} are not all flexible", where)
            if versions.intersect(tagged).empty:
                self.fail(f"taggedVersions {tagged} do not overlap versions {versions}", where)
        override = None
        if "flexibleVersions" in raw:
            if ftype.kind not in ("string", "bytes"):
                self.fail("a flexibleVersions override needs a string or bytes field", where)
            override = parse_versions(raw["flexibleVersions"], f"{where}: flexibleVersions")
            if not override.empty and override.hi != VERSION_MAX:
                self.fail("flexibleVersions must be open-ended or none", where)
        for key in ("ignorable", "zeroCopy"):
            if key in raw and not isinstance(raw[key], bool):
                self.fail(f"{key} must be a boolean", where)
        for key in ("mapKey",):
            if key in raw and not isinstance(raw[key], bool):
                self.fail(f"{key} must be a boolean", where)
        return FieldSpec(name, "", ftype, versions, nullable, tag, tagged, override,
                         raw.get("default"), where)

    def field_type(self, text, raw, where):
        if not isinstance(text, str) or not text:
            self.fail(f"bad type {text!r}", where)
        if text.startswith("[]"):
            element = self.field_type(text[2:], raw, where)
            if element.kind in ("array", "records"):
                self.fail(f"unsupported array element type {text[2:]!r}", where)
            return FieldType("array", element=element)
        if text in PRIMITIVES:
            if "fields" in raw:
                self.fail(f"primitive type {text} cannot have fields", where)
            return FieldType(text)
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", text):
            self.fail(f"unknown type {text!r}", where)
        if "fields" in raw:
            struct = StructSpec(text, "", [], where)
            self.register(struct)
            struct.fields = self.fields(raw["fields"], text)
        return FieldType("struct", struct_name=text)

    def resolve(self, struct):
        for f in struct.fields:
            t = f.type.element if f.type.kind == "array" else f.type
            if t.kind == "struct" and t.struct is None:
                if t.struct_name not in self.structs:
                    self.fail(f"unknown struct type {t.struct_name!r}", f.where)
                t.struct = self.structs[t.struct_name]

    def name_things(self, message):
        all_fields = []

        def member_names(struct):
            seen = set()
            for f in struct.fields:
                cpp = snake_case(f.name)
                if cpp in CPP_KEYWORDS or cpp in RESERVED_NAMES or (struct.top and cpp in TOP_LEVEL_RESERVED):
                    cpp += "_"
                if cpp in seen:
                    self.fail(f"two fields map to the C++ name {cpp!r}", f.where)
                seen.add(cpp)
                f.cpp = cpp
                all_fields.append(cpp)

        member_names(message.top)
        for struct in self.structs.values():
            member_names(struct)
        taken = set(all_fields) | CPP_KEYWORDS | RESERVED_NAMES | TOP_LEVEL_RESERVED | {message.snake}
        used = set()
        for struct in self.structs.values():
            cpp = snake_case(struct.name)
            if cpp in taken:
                cpp += "_data"
            if cpp in taken or cpp in used:
                self.fail(f"struct {struct.name!r} has no free C++ name ({cpp!r} is taken)", struct.where)
            used.add(cpp)
            struct.cpp = cpp

    def order(self, top):
        """Nested structs, each after the structs its fields use."""
        ordered, state = [], {}

        def visit(struct, path):
            if state.get(struct.name) == "done":
                return
            if state.get(struct.name) == "visiting":
                self.fail(f"recursive struct {' -> '.join(path + [struct.name])}")
            state[struct.name] = "visiting"
            for f in struct.fields:
                t = f.type.element if f.type.kind == "array" else f.type
                if t.kind == "struct":
                    visit(t.struct, path + [struct.name])
            state[struct.name] = "done"
            if struct is not top:
                ordered.append(struct)

        visit(top, [])
        for struct in self.structs.values():   # unreferenced common structs
            visit(struct, [])
        return ordered

    @staticmethod
    def compute_reach(message):
        """Hull of the versions in which each struct can appear (for simpler conditions)."""
        for struct in message.structs:
            struct.reach = NO_VERSIONS
        message.top.reach = message.supported
        # Dependency order reversed visits users before the structs they use.
        for struct in [message.top] + list(reversed(message.structs)):
            for f in struct.fields:
                t = f.type.element if f.type.kind == "array" else f.type
                if t.kind != "struct":
                    continue
                use = f.versions.intersect(struct.reach)
                if use.empty:
                    continue
                child = t.struct
                child.reach = use if child.reach.empty else Versions(min(child.reach.lo, use.lo),
                                                                       max(child.reach.hi, use.hi))

    def check_field(self, message, f):
        kind = f.type.kind
        default = f.default
        if default is None:
            return
        if kind in INTEGER_RANGES:
            parse_integer(default, kind, f.where)
        elif kind == "bool":
            if not (isinstance(default, bool) or default in ("true", "false")):
                self.fail(f"default {default!r} is not a boolean", f.where)
        elif kind == "float64":
            try:
                float(default)
            except (TypeError, ValueError):
                self.fail(f"default {default!r} is not a number", f.where)
        elif default == "null":
            if kind not in NULLABLE_KINDS:
                self.fail("only nullable types can default to null", f.where)
            if not f.nullable.covers(f.versions.intersect(message.valid)):
                self.fail("null cannot be the default: not all versions of the field are nullable",
                          f.where)
        elif kind == "string":
            if not isinstance(default, str):
                self.fail(f"default {default!r} is not a string", f.where)
        elif kind == "uuid":
            if not isinstance(default, str) or (default and not uuid_bytes(default)):
                self.fail(f"default {default!r} is not a uuid", f.where)
        elif default != "":
            self.fail(f"type {f.type} only supports a null or empty default, got {default!r}", f.where)


def uuid_bytes(text):
    """16 bytes of a uuid in Kafka's base64url text form, or None."""
    import base64
    if len(text) != 22 or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return None
    data = base64.urlsafe_b64decode(text + "==")
    return data if len(data) == 16 else None


def restrict_supported(message, versions):
    """Narrows a message's supported versions (a response whose request's
    latest version is unstable) and recomputes what depends on them."""
    message.supported = message.supported.intersect(versions)
    message.unstable = True
    Parser.compute_reach(message)
