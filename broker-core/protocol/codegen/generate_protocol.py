#!/usr/bin/env python3
"""Generates geomirror's Kafka protocol codec from message schemas.

    generate_protocol.py --schemas DIR --out DIR [--list-outputs] [--no-samples]

Reads every DIR/*.json (Kafka message schemas; `//` comment lines and an
extra top-level "source" key are allowed) and writes, under --out:

    messages/<message>.h, messages/<message>.cpp   one codec TU per message
    messages/api_catalog.h, messages/api_catalog.cpp
    samples/fill_samples.h, samples/<message>_sample.cpp,
    samples/sample_registry.cpp                  test support (protocol_test_samples)

Files are rewritten only when their content changes (so a schema edit
recompiles little) and stale generated files are removed. --list-outputs
prints the output paths (one per line) without reading the schemas; CMake
uses it at configure time.

Generated code (namespace geomirror::protocol), per message:

- struct <message> with api_key (-1 for headers and data), min_version,
  max_version (an unstable latest version is excluded), first_flexible_version
  (-1: none), schema_name; every struct of the schema (inline and
  commonStructs) as a nested type in dependency order; members with the
  schema defaults; `unknown_tags` in every struct; encode(writer&, version),
  decode(reader&, version), operator==; on the message also
  bytes encode(version) and static decode(span, version), which requires the
  whole input to be consumed.
- Versions: a field is written only in its `versions` (encoding a version
  that lacks a field skips it silently; decoding leaves the default).
  Nullability per `nullableVersions` (encode_error for null elsewhere).
  Flexible versions use compact lengths and end every struct with a tagged
  section: known tagged fields are written when different from their
  default, merged in tag order with the unknown ones kept from decoding, so
  re-encoding is byte-identical. A field's own `flexibleVersions` overrides
  the message's for its string/bytes encoding (RequestHeader.ClientId).

Type mapping: bool/int8/int16/int32/int64/uint16/uint32 -> fixed-width
types, float64 -> double, string -> std::string, bytes -> bytes,
records -> std::optional<record_set>, uuid -> uuid, []T -> std::vector<T>,
struct -> the nested type; std::optional<...> when the field is nullable in
any version (nullable structs: int8 -1 / 1 marker, then the fields).

Naming rules:

- Messages, structs and fields are snake_case: ProduceRequest ->
  produce_request, ClientSoftwareName -> client_software_name, acronyms
  split as ISRNodes -> isr_nodes.
- A member whose name is a C++ keyword, a common macro (errno, major...),
  a name the generated code uses unqualified (bytes, uuid, reader, writer,
  version, flexible, encode, decode, unknown_tags, w, r, ...) or, on the
  message struct, one of its constants (api_key, min_version, ...) gets a
  trailing underscore: Default -> default_, Version -> version_.
- A nested struct type whose name equals a member name anywhere in the
  message, the message's own name or a reserved name gets a `_data` suffix:
  the field Assignment of type Assignment is `assignment_data assignment`.
- Locals in generated functions end in `_` (count_, element_, tagged_...)
  so they never shadow members.

Inputs are validated: unknown keys, malformed version ranges, tagged fields
outside flexible versions, a null default on a field not nullable in all
its versions, defaults that do not fit their type, unknown struct types,
duplicate names or tags: each fails the build naming the file and field.
"""
import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from emit_codec import emit  # noqa: E402
from emit_samples import SampleEmitter, api_catalog, fill_samples_header, sample_registry  # noqa: E402
from schema import SchemaError, load_message, restrict_supported, snake_case  # noqa: E402


def schema_files(schema_dir):
    return sorted(pathlib.Path(schema_dir).glob("*.json"))


def outputs(schema_dir, out, samples=True):
    out = pathlib.Path(out)
    stems = [snake_case(p.stem) for p in schema_files(schema_dir)]
    result = [out / "messages" / "api_catalog.h", out / "messages" / "api_catalog.cpp"]
    for stem in stems:
        result += [out / "messages" / f"{stem}.h", out / "messages" / f"{stem}.cpp"]
    if samples:
        result += [out / "samples" / "fill_samples.h", out / "samples" / "sample_registry.cpp"]
        result += [out / "samples" / f"{stem}_sample.cpp" for stem in stems]
    return result


def write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def generate(schema_dir, out, samples=True):
    out = pathlib.Path(out)
    messages = []
    for path in schema_files(schema_dir):
        messages.append(load_message(path))
    check_pairs(messages)
    files = {}
    for m in messages:
        source = f"schemas/{m.name}.json"
        header, source_file = emit(m, source)
        files[out / "messages" / f"{m.snake}.h"] = header
        files[out / "messages" / f"{m.snake}.cpp"] = source_file
        if samples:
            files[out / "samples" / f"{m.snake}_sample.cpp"] = SampleEmitter(m, source).source_file()
    catalog_h, catalog_cpp = api_catalog(messages)
    files[out / "messages" / "api_catalog.h"] = catalog_h
    files[out / "messages" / "api_catalog.cpp"] = catalog_cpp
    if samples:
        files[out / "samples" / "fill_samples.h"] = fill_samples_header(messages)
        files[out / "samples" / "sample_registry.cpp"] = sample_registry(messages)
    expected = set(outputs(schema_dir, out, samples))
    if set(files) != expected:
        raise SchemaError("generated file set differs from --list-outputs (file name vs message name?)")
    changed = sum(write_if_changed(path, text) for path, text in sorted(files.items()))
    for folder in ("messages", "samples"):
        for stale in (out / folder).glob("*"):
            if stale.suffix in (".h", ".cpp") and stale not in files:
                stale.unlink()
    return len(messages), changed


def check_pairs(messages):
    """A request and its response must agree on versions and flexibility; a
    response does not support its request's unstable latest version."""
    by_name = {m.name: m for m in messages}
    for m in messages:
        if m.kind != "request":
            continue
        response = by_name.get(m.name[:-len("Request")] + "Response")
        if response is None:
            continue
        if response.api_key != m.api_key or response.flexible != m.flexible:
            raise SchemaError(f"{m.name} and {response.name} disagree on api key or flexibleVersions")
        if m.unstable and response.supported.hi > m.supported.hi:
            # The response schema does not repeat latestVersionUnstable.
            restrict_supported(response, m.supported)
        if response.supported != m.supported:
            print(f"warning: {m.name} supports {m.supported} but {response.name} {response.supported}",
                  file=sys.stderr)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", required=True, help="folder of *.json message schemas")
    parser.add_argument("--out", required=True, help="output root (.../broker-core/protocol)")
    parser.add_argument("--list-outputs", action="store_true", help="print output paths and exit")
    parser.add_argument("--no-samples", action="store_true", help="skip the test-support samples")
    args = parser.parse_args(argv[1:])
    samples = not args.no_samples
    if args.list_outputs:
        for path in outputs(args.schemas, args.out, samples):
            print(path.as_posix())
        return 0
    try:
        count, changed = generate(args.schemas, args.out, samples)
    except SchemaError as e:
        print(f"generate_protocol.py: error: {e}", file=sys.stderr)
        return 1
    print(f"generate_protocol.py: {count} schemas, {changed} files updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
