#!/usr/bin/env python3
"""The log pipeline written the straightforward way in Python, timed on the same payload as Rust.

base64 + gzip + json, then per line: json or text, level, service, the same redaction rules
(config/log-processing.toml; Rust and Python regex syntax agree on them), Luhn-checked cards, the
same signature catalogue (config/log-signatures.toml), per-service metrics, a JSON record out.

Usage: compare_python.py PAYLOAD.json RUST_NS_PER_EVENT [ROUNDS]
"""
import base64
import gzip
import json
import re
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = tomllib.loads((ROOT / "config/log-processing.toml").read_text())["redaction"]["rules"]
SIGNATURES = tomllib.loads((ROOT / "config/log-signatures.toml").read_text())["signatures"]

COMPILED = [(r["name"], re.compile(r["pattern"])) for r in RULES if r["enabled"] and "pattern" in r]
CARD = re.compile(r"(?<![\w])\d(?:[ -]?\d){12,18}(?![\w])")
LEVEL = re.compile(r"\b(ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL)\b")
SIGS = [
    (s["name"], [[lit.lower() for lit in group] for group in s["all_of"]], re.compile(s["pattern"]) if "pattern" in s else None)
    for s in SIGNATURES
]


def luhn(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = int(d)
        if i % 2:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return total % 10 == 0


def redact(text, counts):
    for name, pattern in COMPILED:
        def sub(m, name=name):
            counts[name] = counts.get(name, 0) + 1
            if "secret" in pattern.groupindex and m.group("secret") is not None:
                s, e = m.span("secret")
                return m.group(0)[: s - m.start()] + f"[REDACTED:{name}]" + m.group(0)[e - m.start():]
            return f"[REDACTED:{name}]"
        text = pattern.sub(sub, text)

    def card(m):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits):
            counts["card-number"] = counts.get("card-number", 0) + 1
            return "[REDACTED:card-number]"
        return m.group(0)
    return CARD.sub(card, text)


def classify(text):
    lower = text.lower()
    found = []
    for name, groups, pattern in SIGS:
        if all(any(lit in lower for lit in group) for group in groups) and (pattern is None or pattern.search(text)):
            found.append(name)
    return found


def process(data):
    batch = json.loads(gzip.decompress(base64.b64decode(data)))
    metrics, records, counts = {}, [], {}
    for event in batch["logEvents"]:
        line = event["message"]
        service, level, message = None, "UNKNOWN", line
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                if "log" in obj:
                    k8s = obj.get("kubernetes", {})
                    service = k8s.get("labels", {}).get("app") or k8s.get("container_name")
                    message = obj["log"].rstrip("\n")
                else:
                    message = obj.get("message", line)
                    level = obj.get("level", level).upper()
            except ValueError:
                pass
        if level == "UNKNOWN":
            m = LEVEL.search(message[:160])
            level = m.group(1) if m else level
        service = service or "other"
        message = redact(message, counts)
        sigs = classify(message)
        m = metrics.setdefault(service, {"events": 0, "bytes": 0, "errors": 0, "warnings": 0, "signatures": {}})
        m["events"] += 1
        m["bytes"] += len(line)
        m["errors"] += level in ("ERROR", "FATAL")
        m["warnings"] += level in ("WARN", "WARNING")
        for s in sigs:
            m["signatures"][s] = m["signatures"].get(s, 0) + 1
        records.append(json.dumps({"timestamp": event["timestamp"], "service": service, "level": level,
                                   "message": message, "signatures": sigs}) + "\n")
    return records, metrics


def main():
    payload, rust_ns = sys.argv[1], float(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    data = json.loads(Path(payload).read_text())["awslogs"]["data"]
    events = len(json.loads(gzip.decompress(base64.b64decode(data)))["logEvents"])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        records, _ = process(data)
        best = min(best, (time.perf_counter() - start) * 1e9 / events)
    leaked = sum("Pr0d" in r or "4111 1111" in r for r in records)
    print(f"python_ns_per_event={best:.0f} (records={len(records)}, leaked={leaked})")
    print(f"rust_ns_per_event={rust_ns:.0f}")
    print(f"ratio={best / rust_ns:.1f}x (python / rust, per event)")


if __name__ == "__main__":
    main()
