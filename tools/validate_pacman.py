#!/usr/bin/env python3
"""Validate PACMAN files against the schemas shipped with spinnaker-pacman.

Usage: tools/validate_pacman.py DIR [--schemas SCHEMA_DIR]

Checks DIR/machine.json, DIR/placements.json and DIR/routing_tables.json against the
JSON Schema (draft-04) files of the same names in SCHEMA_DIR (default: .tools/pacman-schemas
in the repository root, filled by launch/fetch-pacman-schemas). Exits 0 when all three are
valid, 1 when one is not (printing every error), 2 when the schemas or jsonschema are missing.
"""
import argparse
import json
import os
import sys

FILES = ("machine.json", "placements.json", "routing_tables.json")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="directory holding the three PACMAN files")
    parser.add_argument("--schemas", default=os.path.join(ROOT, ".tools", "pacman-schemas"),
                        help="directory of the PACMAN schema files")
    args = parser.parse_args()

    try:
        import jsonschema
    except ImportError:
        print("validate_pacman: python package jsonschema missing; run launch/fetch-pacman-schemas",
              file=sys.stderr)
        return 2
    missing = [f for f in FILES if not os.path.isfile(os.path.join(args.schemas, f))]
    if missing:
        print(f"validate_pacman: schemas {', '.join(missing)} missing in {args.schemas}; "
              "run launch/fetch-pacman-schemas", file=sys.stderr)
        return 2

    failed = False
    for name in FILES:
        path = os.path.join(args.directory, name)
        with open(os.path.join(args.schemas, name), encoding="utf-8") as f:
            schema = json.load(f)
        try:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
        except (OSError, ValueError) as error:
            print(f"{path}: cannot read: {error}", file=sys.stderr)
            failed = True
            continue
        validator = jsonschema.Draft4Validator(schema)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            print(f"{path}: at {where}: {error.message}", file=sys.stderr)
        if errors:
            failed = True
        else:
            print(f"{path}: valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
