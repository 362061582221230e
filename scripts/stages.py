#!/usr/bin/env python3
"""Where the log processor's time goes, per stage: instructions counted by callgrind (repeatable,
unlike a timer) for one warm delivery on one core, each stage's inclusive count and share.

    scripts/stages.py COMPARE_BINARY PAYLOAD        profile a run, print the table
    scripts/stages.py --from CALLGRIND_OUT EVENTS   the table of an existing profile (all of it)

Only the timed work is counted (Pipeline::process_encoded and the EMF documents), as the
compare example times it. Each stage is a function kept out of line for this. A process's first
delivery also compiles the patterns its lines arm (they are compiled on first use, not at init):
the table is the second delivery's (two deliveries profiled, less one), and the first's extra
is printed below it.
"""
import re
import subprocess
import sys
import tempfile

STAGES = [
    ("base64", "log_processor::decode::decode_base64_into"),
    ("inflate (libdeflate)", "log_processor::decode::inflate_into"),
    ("batch JSON (one-pass reader, simd-json for other shapes)", "log_processor::decode::DecodeBuffers::parse"),
    ("line parse (JSON lines, envelopes, text)", "log_processor::parse::parse_line"),
    ("literal scan (triggers + signature literals)", "log_processor::scan::Scanner::scan_into"),
    ("redaction (armed rules, card numbers)", "log_processor::redact::Redactor::redact_armed"),
    ("signatures (groups, patterns)", "log_processor::classify::Classifier::evaluate"),
    ("record output (JSON writing)", "log_processor::pipeline::write_record"),
    ("EMF documents", "log_processor::metrics::Metrics::to_emf"),
]
ENTRY = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*?):(\S+)\s+\[(.+)\]\s*$")


def counts(profile):
    """The profile's total and each stage function's inclusive count."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", profile],
        # Outside the repository: there callgrind_annotate reads some paths as relative and splits
        # a function's inclusive count between them.
        check=True, capture_output=True, text=True, cwd="/",
    ).stdout
    total = None
    inclusive = {}
    for line in out.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = ENTRY.match(line)
        if m:
            # One entry per function compiled out of line: the one naming its object file.
            count, function = int(m.group(1).replace(",", "")), m.group(3)
            inclusive[function] = max(inclusive.get(function, 0), count)
    if not total:
        sys.exit("stages: no totals in the profile")
    return total, {function: inclusive.get(function) for _, function in STAGES}


def table(total, inclusive, events):
    print(f"| stage | instructions per event | share |")
    print("|---|---:|---:|")
    counted = 0
    for name, function in STAGES:
        n = inclusive.get(function)
        if n is None:
            print(f"| {name} | (inlined: in the rest) | |")
            continue
        counted += n
        print(f"| {name} | {n / events:,.0f} | {100 * n / total:.1f}% |")
    rest = total - counted
    print(f"| counting, service lookup, detections, the rest | {rest / events:,.0f} | {100 * rest / total:.1f}% |")
    print(f"| **all** | **{total / events:,.0f}** | 100% |")


def main(argv):
    if len(argv) == 3 and argv[0] == "--from":
        table(*counts(argv[1]), int(argv[2]))
        return
    if len(argv) != 2:
        sys.exit(__doc__)
    binary, payload = argv
    profiled = {}
    for rounds in (1, 2):
        with tempfile.NamedTemporaryFile(suffix=".callgrind") as f:
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={f.name}",
                 "--toggle-collect=*Pipeline::process_encoded*", "--toggle-collect=*Metrics::to_emf*",
                 binary, "--payload", payload, "--rounds", str(rounds), "--one-core"],
                check=True, capture_output=True, text=True,
            )
            events = int(re.search(r"^events=(\d+)$", run.stdout, re.M).group(1))
            profiled[rounds] = counts(f.name)
    (first_total, first), (both_total, both) = profiled[1], profiled[2]
    warm = {f: None if both[f] is None else both[f] - (first[f] or 0) for f in both}
    warm_total = both_total - first_total
    table(warm_total, warm, events)
    extra = first_total - warm_total
    print(f"\nThe first delivery of a process: {first_total / events:,.0f} instructions per event, "
          f"{extra:,} more than a warm one (the patterns its lines arm, compiled on first use, and the buffers later deliveries reuse, zeroed once).")


if __name__ == "__main__":
    main(sys.argv[1:])
