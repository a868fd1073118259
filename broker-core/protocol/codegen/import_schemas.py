#!/usr/bin/env python3
"""Imports Kafka message schemas into broker-core/protocol/schemas/.

Reads Apache Kafka's message JSON files (which carry `//` comment lines),
keeps only the facts the code generator needs (names, types, versions,
nullability, defaults, tags) and writes them as plain JSON with an
attribution block. Run it when a new API is served:

    broker-core/protocol/codegen/import_schemas.py ../shared/kafka-protocol/messages \
        ProduceRequest ProduceResponse ...

With no message names it refreshes the files already in schemas/.
"""
import json
import pathlib
import sys

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent.parent / "schemas"
TOP_KEYS = ["apiKey", "type", "name", "validVersions", "deprecatedVersions",
            "flexibleVersions", "latestVersionUnstable", "fields", "commonStructs"]
FIELD_KEYS = ["name", "type", "versions", "nullableVersions", "default", "ignorable",
              "tag", "taggedVersions", "flexibleVersions", "fields"]
SOURCE = ("Apache Kafka (https://github.com/apache/kafka), "
          "clients/src/main/resources/common/message/{name}.json at commit "
          "1eb7644349cb07139d6a3c1ad1986979647cac99; Apache License 2.0, "
          "see LICENSE and NOTICE in this folder. Reduced: comments and "
          "documentation removed.")


def strip_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def reduce_field(field):
    out = {k: field[k] for k in FIELD_KEYS if k in field and k != "fields"}
    if "fields" in field:
        out["fields"] = [reduce_field(f) for f in field["fields"]]
    return out


def reduce_schema(schema):
    out = {"source": SOURCE.format(name=schema["name"])}
    for key in TOP_KEYS:
        if key not in schema:
            continue
        if key in ("fields", "commonStructs"):
            out[key] = [reduce_field(f) for f in schema[key]]
        else:
            out[key] = schema[key]
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    source_dir = pathlib.Path(argv[1])
    names = argv[2:] or sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name in names:
        schema = json.loads(strip_comments((source_dir / f"{name}.json").read_text()))
        target = SCHEMA_DIR / f"{name}.json"
        target.write_text(json.dumps(reduce_schema(schema), indent=1) + "\n")
        print(f"imported {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
