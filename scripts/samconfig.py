#!/usr/bin/env python3
"""Print one parameter of a samconfig.toml deploy profile (the deploy workflow's account guard).

Usage: samconfig.py PROFILE PARAMETER [--file samconfig.toml]
Exits 2 naming the profile or parameter when either is missing.
"""
import argparse
import sys
import tomllib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile")
    parser.add_argument("parameter")
    parser.add_argument("--file", default="samconfig.toml")
    args = parser.parse_args()
    with open(args.file, "rb") as f:
        config = tomllib.load(f)
    deploy = config.get(args.profile, {}).get("deploy", {}).get("parameters")
    if deploy is None:
        print(f"samconfig: no profile `{args.profile}` with deploy parameters in {args.file}", file=sys.stderr)
        return 2
    overrides = deploy.get("parameter_overrides", [])
    if isinstance(overrides, str):
        overrides = overrides.split()
    for item in overrides:
        name, _, value = item.partition("=")
        if name == args.parameter:
            print(value.strip('"'))
            return 0
    print(f"samconfig: profile `{args.profile}` has no parameter `{args.parameter}`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
