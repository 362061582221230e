#!/usr/bin/env python3
"""The log processor's pipeline written the straightforward way in Python, timed on the same payload.

All that functions/log-processor does with a delivery: decode.rs's decoding; parse.rs's three line
shapes, aliases and refusals (a mistyped or repeated field makes the line malformed text); the
catalogue's services; the 256 KiB cut; every enabled redaction rule behind its triggers, per rule,
with redact.rs's Luhn card scanner; every signature; message and stack trace alike; the per service
and per tier counts with their EMF documents; the records byte for byte; the detections. It prints
the parity summary of functions/log-processor/examples/compare/parity.rs from its own results.

Usage: compare_python.py PAYLOAD.json [--rounds N] [--rust-ns NS_PER_EVENT] [--dump DIR]
"""
import argparse
import base64
import binascii
import gzip
import json
import math
import re
import sys
import time
import tomllib
import zlib
from pathlib import Path

CONFIG = {name: tomllib.loads((Path(__file__).resolve().parent.parent / "config" / f"{name}.toml").read_text())
          for name in ("log-processing", "log-signatures", "services", "monitoring")}
ENVIRONMENT = "dev"
OTHER_SERVICE = "other"
MAX_MESSAGE_BYTES = 256 * 1024
MAX_DECOMPRESSED_BYTES = 32 << 20
SAMPLE_CHARS = 512
MARKER = "[REDACTED:"
NAMESPACE = "ABC/Trading"
# The instant in the EMF documents: the Rust example's (parity.rs), so the documents compare.
EMF_TIMESTAMP_MS = 1_763_978_400_000
# What Rust's trim() removes (Unicode White_Space); Python's strip() would also take \x1c-\x1f.
RUST_WS = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
           "\u2028\u2029\u202f\u205f\u3000")


def ascii_lower(text):
    """Lower case for ASCII letters only, as the Rust scanners match (`K` is not `k`)."""
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def load_catalogue():
    """Service -> tier index (None: in no tier), and each tier's (name, latency objective)."""
    services = CONFIG["services"]
    objectives = {o["tier"]: o["latency_ms"] for o in CONFIG["monitoring"]["slo"]["objectives"]}
    known = services["services"]
    catalogue, tiers = dict.fromkeys(known), []
    for i, tier in enumerate(services.get("tiers", [])):
        catalogue.update(dict.fromkeys(tier["services"], i))
        # A tier of jobs serves no request: no objective, nothing is slow.
        jobs = all(known[s].get("kind") == "job" for s in tier["services"])
        tiers.append((tier["name"], math.inf if jobs else float(objectives[tier["name"]])))
    return catalogue, tiers


if any("pattern" not in r and r.get("kind") != "card-number" for r in CONFIG["log-processing"]["redaction"]["rules"]):
    sys.exit("config/log-processing.toml: a rule with neither a pattern nor the card-number kind")
# (name, triggers, pattern or None for the card scanner, marker) per enabled rule, in order.
RULES = [(r["name"], frozenset(map(ascii_lower, r.get("triggers", []))),
          re.compile(r["pattern"]) if "pattern" in r else None, f"{MARKER}{r['name']}]")
         for r in CONFIG["log-processing"]["redaction"]["rules"] if r["enabled"]]
SIGNATURES = [(s, [frozenset(map(ascii_lower, group)) for group in s["all_of"]],
               re.compile(s["pattern"]) if "pattern" in s else None) for s in CONFIG["log-signatures"]["signatures"]]
CATALOGUE, TIERS = load_catalogue()
# Every trigger and signature literal: a text is searched once for each.
LITERALS = sorted({t for _, triggers, _, _ in RULES for t in triggers}
                  | {lit for _, groups, _ in SIGNATURES for group in groups for lit in group})
MISSING = object()
# Level names parse.rs accepts in a level field (ASCII case-insensitive, trimmed).
LEVEL_NAMES = {
    **dict.fromkeys(["error", "err", "e", "severe"], "ERROR"), **dict.fromkeys(["warn", "warning", "w"], "WARN"),
    **dict.fromkeys(["info", "information", "notice", "i"], "INFO"), **dict.fromkeys(["debug", "d", "fine"], "DEBUG"),
    **dict.fromkeys(["trace", "t", "finest"], "TRACE"),
    **dict.fromkeys(["fatal", "critical", "crit", "panic", "emerg", "alert"], "FATAL"),
}
# Level words in plain text (exact case), where `level=` does not say.
TEXT_LEVELS = {"ERROR": "ERROR", "Error": "ERROR", "WARN": "WARN", "WARNING": "WARN", "Warning": "WARN",
               "INFO": "INFO", "DEBUG": "DEBUG", "TRACE": "TRACE", "FATAL": "FATAL", "CRITICAL": "FATAL",
               "PANIC": "FATAL"}
WORDS, LETTERS = re.compile(r"[A-Za-z]{4,}"), re.compile(r"[A-Za-z]*")
DURATION_KEYS = ("duration=", "took", "elapsed=", "latency=", " in")
# Every JSON key parse.rs reads, by the field it fills: two keys of one field are a duplicate.
JSON_FIELDS = {
    **dict.fromkeys(["level", "severity", "lvl", "log.level"], "level"), "log": "log", "kubernetes": "kubernetes",
    **dict.fromkeys(["logger_name", "logger"], "logger"), **dict.fromkeys(["message", "msg"], "message"),
    **dict.fromkeys(["stack_trace", "stackTrace", "exception"], "stack_trace"),
    **dict.fromkeys(["traceId", "trace_id", "X-B3-TraceId"], "trace_id"),
    **dict.fromkeys(["service", "app", "service_name", "application"], "service"),
    **dict.fromkeys(["duration_ms", "durationMs", "elapsed_ms", "latency_ms", "took_ms"], "duration_ms"),
}
KUBERNETES_FIELDS = ("pod_name", "namespace_name", "container_name")
NO_KUBERNETES = {"pod_name": None, "namespace_name": None, "container_name": None, "app": None}
CARD_CHAIN = re.compile(r"[0-9](?:[ -]?[0-9]){12}")
ESCAPE, SURROGATE = re.compile(r"\\(.)", re.S), re.compile("[\ud800-\udfff]")
REPEATED = object()
# A service's counters (parity.rs's order), beside its signatures and durations.
COUNTERS = ("events", "bytes", "errors", "warnings", "redactions", "truncated", "malformed")
# What a card number must not be glued to (ASCII only, as redact.rs reads bytes).
WORD_BYTES = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def json_object(pairs):
    """An object as a dict, with its keys in order when one repeats: serde refuses a field twice."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        keys = [key for key, _ in pairs]
        obj[REPEATED] = {key for key in keys if keys.count(key) > 1}
    return obj


def refuse(what):
    raise ValueError(what)


# serde_json has no NaN or Infinity.
DECODER = json.JSONDecoder(parse_constant=refuse, object_pairs_hook=json_object)


def refuse_repeated(obj, fields):
    if REPEATED in obj and not obj[REPEATED].isdisjoint(fields):
        refuse("duplicate field")


def parse_level(value):
    return LEVEL_NAMES.get(value.strip(RUST_WS).lower(), "UNKNOWN")


def text_level(line):
    # The first 160 bytes, cut back to a character boundary.
    head = line[:160] if line.isascii() else line.encode("utf-8", "surrogatepass")[:160].decode("utf-8", "ignore")
    at = head.find("level=")
    if at >= 0:
        level = parse_level(LETTERS.match(head[at + 6:].lstrip('"')).group())
        if level != "UNKNOWN":
            return level
    for word in WORDS.finditer(head):
        if word.group() in TEXT_LEVELS:
            return TEXT_LEVELS[word.group()]
    return "UNKNOWN"


def text_duration(line):
    at = line.find("ms")
    while at >= 0:
        before = line[:at].rstrip(RUST_WS)
        start = len(before)
        while start and before[start - 1] in "0123456789.":
            start -= 1
        number = before[start:]  # Rust's f64 parse takes it with a digit and at most one dot
        if number.strip(".") and number.count(".") < 2 and before[:start].rstrip(RUST_WS).endswith(DURATION_KEYS):
            if math.isfinite(float(number)):
                return float(number)
        at = line.find("ms", at + 2)
    return None


def kubernetes(value):
    """The envelope's pod, namespace, container and app label, typed as serde requires."""
    labels = value.get("labels") if type(value) is dict else refuse("kubernetes is not an object")
    refuse_repeated(value, (*KUBERNETES_FIELDS, "labels"))
    out = {key: value.get(key) for key in KUBERNETES_FIELDS}
    if labels is not None and type(labels) is not dict:
        refuse("labels is not an object")
    refuse_repeated(labels or {}, ("app",))
    out["app"] = labels.get("app") if labels else None
    if any(v is not None and type(v) is not str for v in out.values()):
        refuse("a kubernetes field is not a string")
    return out


def json_fields(obj, line):
    """The fields parse.rs reads from a JSON line; ValueError where serde refuses the line."""
    refuse_repeated(obj, JSON_FIELDS)
    fields = {}
    for key, value in obj.items():
        field = JSON_FIELDS.get(key)
        if field is None:
            continue
        if field in fields:
            refuse(f"duplicate field {field}")
        if value is None:
            pass
        elif field == "duration_ms":
            if type(value) is bool or not isinstance(value, (int, float)):
                refuse("duration is not a number")
            value = float(value)  # an int past the float range raises OverflowError
            if not math.isfinite(value):
                refuse("number out of range")
        elif field == "kubernetes":
            value = kubernetes(value)
        elif type(value) is not str:
            refuse(f"{field} is not a string")
        fields[field] = value
    # A lone surrogate escape: Python decodes it, serde refuses it in a field it reads.
    if "\\u" in line:
        values = [*fields.values(), *(fields.get("kubernetes") or {}).values()]
        if any(type(v) is str and SURROGATE.search(v) for v in values):
            refuse("lone surrogate")
    return fields


def parse_line(line, group_service):
    trimmed = line.rstrip("\r\n")
    looks_json = trimmed.lstrip(RUST_WS).startswith("{")
    if looks_json:
        try:
            return from_json(json_fields(DECODER.decode(trimmed), trimmed), trimmed, group_service)
        except (ValueError, OverflowError, RecursionError):
            pass
    return {"level": text_level(trimmed), "format": "text", "service": group_service, "message": trimmed,
            "logger": None, "trace_id": None, "stack_trace": None, "pod": None, "namespace": None,
            "duration_ms": text_duration(trimmed), "malformed": looks_json}


def from_json(f, raw, group_service):
    if f.get("log") is not None:
        k8s = f.get("kubernetes") or NO_KUBERNETES
        service = k8s["app"] if k8s["app"] is not None else k8s["container_name"]
        record = parse_line(f["log"], None)
        record.update(format="kubernetes", pod=k8s["pod_name"], namespace=k8s["namespace_name"])
        if record["service"] is None:
            record["service"] = service if service is not None else group_service
        return record
    level = parse_level(f["level"]) if f.get("level") is not None else "UNKNOWN"
    stack_trace, message, service, duration = map(f.get, ("stack_trace", "message", "service", "duration_ms"))
    level = "ERROR" if level == "UNKNOWN" and stack_trace is not None else level
    return {"level": level, "format": "json", "service": service if service is not None else group_service,
            "message": message if message is not None else raw, "logger": f.get("logger"),
            "trace_id": f.get("trace_id"), "stack_trace": stack_trace, "pod": None, "namespace": None,
            "duration_ms": duration if duration is not None and duration >= 0.0 else None, "malformed": False}


def cut(text):
    """`text` within 256 KiB of UTF-8, on a character boundary, and whether it was cut."""
    encoded = text.encode("utf-8", "surrogatepass") if len(text) * 4 > MAX_MESSAGE_BYTES else b""
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return text, False
    return encoded[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore"), True


def luhn(digits):
    doubled = (int(d) * 2 for d in digits[-2::-2])
    return (sum(map(int, digits[::-2])) + sum(d - 9 if d > 9 else d for d in doubled)) % 10 == 0


def replace_cards(text, marker):
    """redact.rs's scanner: 13-19 digits, single spaces or dashes between, standing alone, passing Luhn."""
    if not CARD_CHAIN.search(text):
        return text, 0
    pieces, last, i, size = [], 0, 0, len(text)
    while i < size:
        if not "0" <= text[i] <= "9" or (i > 0 and text[i - 1] in WORD_BYTES):
            i += 1
            continue
        start = j = end = i
        digits = ""
        while j < size:
            if "0" <= text[j] <= "9":
                digits += text[j]
                if len(digits) == 20:
                    break
                end = j = j + 1
            elif text[j] in " -" and j + 1 < size and "0" <= text[j + 1] <= "9":
                j += 1
            else:
                break
        if 13 <= len(digits) <= 19 and (end >= size or text[end] not in WORD_BYTES) and luhn(digits):
            pieces += [text[last:start], marker]
            last = end
        i = max(end, start + 1)
        while i < size and "0" <= text[i] <= "9":
            i += 1
    if not pieces:
        return text, 0
    return "".join(pieces) + text[last:], len(pieces) // 2


def replace_secret(regex, text, marker):
    """Each match's `secret` group (or whole match) replaced, unless it is already a marker."""
    pieces, last = [], 0
    for m in regex.finditer(text):
        start, end = m.span("secret") if "secret" in regex.groupindex else m.span()
        if start < 0:
            start, end = m.span()
        if start < last or start == end or text.startswith(MARKER, start):
            continue
        pieces += [text[last:start], marker]
        last = end
    if not pieces:
        return text, 0
    return "".join(pieces) + text[last:], len(pieces) // 2


def literals_in(text):
    """The trigger and signature literals in `text`, ASCII case-insensitively."""
    lower = ascii_lower(text)
    return {lit for lit in LITERALS if lit in lower}


def redact(text, present, counts):
    """Every rule with a trigger in the text as it came (`present`), in order; redactions made."""
    made = 0
    for i, (_, triggers, pattern, marker) in enumerate(RULES):
        if triggers and (not present or triggers.isdisjoint(present)):
            continue
        text, n = replace_cards(text, marker) if pattern is None else replace_secret(pattern, text, marker)
        counts[i] += n
        made += n
    return text, made


def signatures_in(text, present):
    """Signatures with each all_of group in the text as it came (`present`), the pattern in the redacted text."""
    if not present:
        return []
    return [i for i, (_, groups, pattern) in enumerate(SIGNATURES)
            if all(not group.isdisjoint(present) for group in groups)
            and (pattern is None or pattern.search(text))]


def jstr(text):
    """`text` as a JSON string as json.rs writes it: like json.dumps, but \\b and \\f as \\u00XX."""
    out = json.dumps(text, ensure_ascii=False)
    if "\\b" in out or "\\f" in out:
        out = ESCAPE.sub(lambda m: {"b": "\\u0008", "f": "\\u000c"}.get(m.group(1), m.group(0)), out)
    return out


def rust_float(value, plus=""):
    """A float as Rust writes it: json.rs (ryu) `1e16`, `0.00001`, `1e-7`; serde_json the same but
    `1e+16` (plus="+"). Python's repr writes `1e+16`, `1e-05`, `1e-07`."""
    mantissa, _, exponent = repr(value).partition("e")
    if not exponent or int(exponent) == -5:
        return mantissa if not exponent else "0.0000" + mantissa.replace(".", "")
    return f"{mantissa}e{plus if int(exponent) >= 0 else ''}{int(exponent)}"


class DecodeError(Exception):
    """A payload the function counts as dropped (base64, gzip, too_large, json) and refuses."""


def decode(data):
    """The batch in `awslogs.data`, with the fields and types decode.rs's LogBatch requires."""
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise DecodeError(f"payload of {len(data)} bytes is not valid base64: {e}") from None
    try:
        # Inflated whole, then checked: Rust stops at the cap, which only matters for memory.
        raw = gzip.decompress(compressed) or refuse("empty gzip stream")
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise DecodeError(f"payload is not a complete gzip stream: {e}") from None
    if len(raw) > MAX_DECOMPRESSED_BYTES:
        raise DecodeError(f"payload inflates beyond the {MAX_DECOMPRESSED_BYTES}-byte cap")
    try:
        text = raw.decode("utf-8")
        batch = json.loads(text)
        if "\\u" in text:  # simd-json refuses a lone surrogate escape, which UTF-8 cannot encode
            json.dumps(batch, ensure_ascii=False).encode("utf-8")
        if type(batch) is not dict or type(batch.get("messageType")) is not str:
            refuse("no messageType")
        if any(type(batch.setdefault(key, "")) is not str for key in ("owner", "logGroup", "logStream")):
            refuse("owner, logGroup or logStream is not a string")
        if type(batch.setdefault("logEvents", [])) is not list:
            refuse("logEvents is not a list")
        for event in batch["logEvents"]:
            if type(event) is not dict or type(event.get("message")) is not str:
                refuse("an event without a message")
            if type(event.setdefault("timestamp", 0)) is not int or type(event.setdefault("id", "")) is not str:
                refuse("an event's timestamp or id is mistyped")
    except ValueError as e:  # UnicodeError is one
        raise DecodeError(f"payload is not a CloudWatch Logs batch: {e}") from None
    return batch


def process(data):
    """One delivery: records (JSON lines), metrics, detections and the EMF documents' text."""
    batch = decode(data)
    metrics = {"accounts": {}, "unattributed": {}, "unattributed_batches": 0, "untiered": 0, "dropped": {},
               "control_messages": 0, "redactions_by_rule": {}}
    records, detections = [], {}
    if batch["messageType"] == "CONTROL_MESSAGE":
        metrics["control_messages"] += 1
        return records, metrics, detections, emf_text(metrics)
    owner, log_group = batch["owner"], batch["logGroup"]
    parts = log_group.removeprefix("/abc-trading/").split("/")
    group_service = parts[1] if log_group.startswith("/abc-trading/") and len(parts) == 2 and parts[1] else None
    account = owner if len(owner) == 12 and owner.isascii() and owner.isdigit() else None
    if account is not None:
        services = metrics["accounts"].setdefault(account, {"services": {}, "tiers": {}})["services"]
    else:
        metrics["unattributed_batches"] += 1
        services = metrics["unattributed"]
    shared = "".join(f',"{k}":{jstr(v)}' for k, v in (("environment", ENVIRONMENT), ("account", owner),
                                                       ("log_group", log_group), ("log_stream", batch["logStream"])))
    counts, tally = [0] * len(RULES), [[0, 0, 0, 0] for _ in TIERS]
    for event in batch["logEvents"]:
        line, timestamp = event["message"], event["timestamp"]
        record = parse_line(line, group_service)
        tier = CATALOGUE.get(record["service"], MISSING) if record["service"] is not None else MISSING
        service, tier = (OTHER_SERVICE, None) if tier is MISSING else (record["service"], tier)
        message, truncated = cut(record["message"])
        present = literals_in(message)
        message, redactions = redact(message, present, counts)
        hits = signatures_in(message, present)
        stack_trace = record["stack_trace"]
        if stack_trace is not None:
            stack_trace = cut(stack_trace)[0]
            present = literals_in(stack_trace)
            stack_trace, more = redact(stack_trace, present, counts)
            redactions += more
            hits += [i for i in signatures_in(stack_trace, present) if i not in hits]
        level, duration = record["level"], record["duration_ms"]
        error = level in ("ERROR", "FATAL")
        if tier is None:
            metrics["untiered"] += 1
        else:
            slow = duration is not None and duration > TIERS[tier][1]
            tally[tier] = [a + b for a, b in zip(tally[tier], (1, error, duration is not None, slow))]
        m = services.get(service)
        if m is None:
            m = services[service] = {**dict.fromkeys(COUNTERS, 0), "signatures": {}, "durations_ms": []}
        m["events"] += 1
        m["bytes"] += len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))
        m["errors"] += error
        m["warnings"] += level == "WARN"
        m["redactions"] += redactions
        m["truncated"] += truncated
        m["malformed"] += record["malformed"]
        if duration is not None:
            m["durations_ms"].append(duration)
        for i in hits:
            signature = SIGNATURES[i][0]
            name = signature["name"]
            m["signatures"][name] = m["signatures"].get(name, 0) + 1
            if signature["action"] == "count":
                continue
            if (service, name) in detections:
                detections[service, name]["count"] += 1
            else:
                detections[service, name] = {
                    "environment": ENVIRONMENT, "service": service, "signature": name,
                    "severity": signature["severity"], "action": signature["action"],
                    "description": signature["description"], "count": 1, "first_seen": timestamp,
                    "account": owner, "log_group": log_group, "sample": message[:SAMPLE_CHARS]}
        out = [f'{{"timestamp":{timestamp}{shared},"service":{jstr(service)},"level":"{level}"'
               f',"format":"{record["format"]}","message":{jstr(message)}']
        for key, value in (("logger", record["logger"]), ("trace_id", record["trace_id"]),
                           ("stack_trace", stack_trace), ("pod", record["pod"]), ("namespace", record["namespace"])):
            if value is not None:
                out.append(f',"{key}":{jstr(value)}')
        if duration is not None:
            out.append(f',"duration_ms":{rust_float(duration)}')
        if hits:
            out.append(',"signatures":[' + ",".join(jstr(SIGNATURES[i][0]["name"]) for i in hits) + "]")
        records.append("".join(out) + "}\n")

    if account is not None:  # tiers need an account to be a dimension of
        tiers = metrics["accounts"][account]["tiers"]
        for (tier, _), counted in zip(TIERS, tally):
            if counted[0]:
                tiers[tier] = [a + b for a, b in zip(tiers.get(tier, [0, 0, 0, 0]), counted)]
    for (rule, *_), n in zip(RULES, counts):
        if n:
            metrics["redactions_by_rule"][rule] = metrics["redactions_by_rule"].get(rule, 0) + n
    return records, metrics, detections, emf_text(metrics)


def document(dimensions, directives):
    """An EMF document: `directives` are (dimension sets, [(metric, unit, value)])."""
    doc = {"_aws": {"Timestamp": EMF_TIMESTAMP_MS, "CloudWatchMetrics": [
        {"Namespace": NAMESPACE, "Dimensions": sets, "Metrics": [{"Name": n, "Unit": u} for n, u, _ in values]}
        for sets, values in directives]}, **dimensions}
    for _, values in directives:
        doc.update((n, v) for n, _, v in values)
    return doc


def service_document(account, service, m):
    first = [("Events", "Count", float(m["events"])), ("Errors", "Count", float(m["errors"]))]
    rest = [("Bytes", "Bytes", float(m["bytes"]))] + [(key.capitalize(), "Count", float(m[key])) for key in
                                                      ("warnings", "redactions", "truncated", "malformed")]
    rest += [(f"Signature.{sig}", "Count", float(n)) for sig, n in sorted(m["signatures"].items())]
    ordered = sorted(m["durations_ms"])
    rest += [(name, "Milliseconds", ordered[min(max(math.ceil(p * len(ordered)), 1), len(ordered)) - 1])
             for name, p in (("LatencyP50", 0.5), ("LatencyP90", 0.9), ("LatencyP99", 0.99), ("LatencyMax", 1.0))
             if ordered]  # nearest rank
    if account is None:
        return document({"Environment": ENVIRONMENT, "Service": service},
                        [([["Environment", "Service"]], first + rest)])
    # Events and Errors per service and per account and service; the rest per service only.
    return document({"Environment": ENVIRONMENT, "Account": account, "Service": service},
                    [([["Environment", "Service"], ["Environment", "Account", "Service"]], first),
                     ([["Environment", "Service"]], rest)])


def emf_text(metrics):
    docs = []
    for account, a in sorted(metrics["accounts"].items()):
        docs += [service_document(account, s, m) for s, m in sorted(a["services"].items())]
        docs += [document({"Environment": ENVIRONMENT, "Account": account, "Tier": tier}, [(
            [["Environment", "Account", "Tier"]],
            [(name, "Count", float(n)) for name, n in zip(("Events", "Errors", "Requests", "SlowRequests"), counts)])])
            for tier, counts in sorted(a["tiers"].items())]
    docs += [service_document(None, s, m) for s, m in sorted(metrics["unattributed"].items())]
    batch_level = metrics["control_messages"] + metrics["unattributed_batches"] + metrics["untiered"]
    if metrics["dropped"] or metrics["redactions_by_rule"] or batch_level:
        values = [(f"Dropped.{r}", "Count", float(n)) for r, n in sorted(metrics["dropped"].items())]
        values += [(f"Redactions.{r}", "Count", float(n)) for r, n in sorted(metrics["redactions_by_rule"].items())]
        values += [(name, "Count", float(metrics[key])) for name, key in (
            ("ControlMessages", "control_messages"), ("UnattributedBatches", "unattributed_batches"),
            ("Untiered", "untiered"))]
        docs.append(document({"Environment": ENVIRONMENT}, [([["Environment"]], values)]))
    return "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in docs)


def canonical(value):
    """Compact JSON, keys sorted, floats as serde_json writes them: what parity.rs checksums."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return rust_float(value, plus="+") if isinstance(value, float) else json.dumps(value, ensure_ascii=False)


def canonical_lines(emf):
    return "".join(canonical(json.loads(line)) + "\n" for line in emf.splitlines())


def parity(events, records, metrics, detections, emf):
    """The summary parity.rs prints, from this pipeline's results."""
    services, signatures = {}, {}
    totals = dict.fromkeys(("errors", "warnings", "truncated", "malformed"), 0)
    owned = [(acct, s, m) for acct, a in metrics["accounts"].items() for s, m in a["services"].items()]
    for account, service, m in owned + [("-", s, m) for s, m in metrics["unattributed"].items()]:
        services[f"{account}/{service}"] = [m[k] for k in COUNTERS] + [len(m["durations_ms"])]
        totals = {k: n + m[k] for k, n in totals.items()}
        for name, n in m["signatures"].items():
            signatures[name] = signatures.get(name, 0) + n
    found = "".join(json.dumps(detections[k], ensure_ascii=False, separators=(",", ":")) + "\n"
                    for k in sorted(detections))
    text = "".join(records).encode("utf-8", "surrogatepass")
    return {
        "events": events, "records": len(records), "records_bytes": len(text), "records_crc32": zlib.crc32(text),
        **totals,
        "redactions": metrics["redactions_by_rule"], "signatures": signatures, "detections": len(detections),
        "detection_counts": {f"{s}/{sig}": d["count"] for (s, sig), d in detections.items()},
        "detections_crc32": zlib.crc32(found.encode("utf-8", "surrogatepass")), "services": services,
        "tiers": {f"{acct}/{t}": v for acct, a in metrics["accounts"].items() for t, v in a["tiers"].items()},
        "untiered": metrics["untiered"], "unattributed_batches": metrics["unattributed_batches"],
        "control_messages": metrics["control_messages"], "dropped": metrics["dropped"],
        "emf_documents": len(emf.splitlines()),
        "emf_crc32": zlib.crc32(canonical_lines(emf).encode("utf-8", "surrogatepass")),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("payload", type=Path, help='a CloudWatch Logs subscription event: {"awslogs":{"data":...}}')
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds, the best is reported")
    parser.add_argument("--rust-ns", type=float, help="the Rust ns per event, for the ratio")
    parser.add_argument("--dump", type=Path, help="write python-records.jsonl and python-emf.jsonl (keys sorted) "
                        "there, to diff with the Rust example's --dump")
    args = parser.parse_args()
    try:
        data = json.loads(args.payload.read_bytes())["awslogs"]["data"]
        events = len(decode(data)["logEvents"]) if type(data) is str else refuse("awslogs.data is not a string")
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f'{args.payload}: not a CloudWatch Logs subscription event {{"awslogs":{{"data":"<base64 gzip>"}}}}: '
                 f"{type(e).__name__}: {e}")
    except DecodeError as e:
        sys.exit(f"{args.payload}: awslogs.data: {e}")
    if not events:
        sys.exit(f"{args.payload}: the batch holds no log events to time")
    best = math.inf
    for _ in range(max(args.rounds, 1)):
        start = time.perf_counter()
        result = process(data)
        best = min(best, (time.perf_counter() - start) * 1e9 / events)
    print(f"payload_bytes={len(data)}\nevents={events}\nrecords={len(result[0])}")
    print("parity=" + json.dumps(parity(events, *result), separators=(",", ":"), sort_keys=True))
    print(f"python_ns_per_event={best:.0f}")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        (args.dump / "python-records.jsonl").write_bytes("".join(result[0]).encode("utf-8", "surrogatepass"))
        (args.dump / "python-emf.jsonl").write_bytes(canonical_lines(result[3]).encode("utf-8", "surrogatepass"))
    if args.rust_ns:
        print(f"rust_ns_per_event={args.rust_ns:.0f}\nratio={best / args.rust_ns:.1f}x (python / rust, per event)")


if __name__ == "__main__":
    main()
