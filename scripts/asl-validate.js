// Validates Amazon States Language files with the pinned asl-validator library and prints one JSON
// array of results, so platform-ops can report findings per file. The CLI has no JSON output and
// stops at the first unreadable file; the library does neither.
// Usage: node scripts/asl-validate.js a.asl.json [b.asl.json ...]   exit 0 valid, 1 invalid, 2 unreadable
"use strict";
const fs = require("fs");
const validate = require("asl-validator");

let rc = 0;
const results = process.argv.slice(2).map((file) => {
  try {
    const { isValid, errors } = validate(JSON.parse(fs.readFileSync(file, "utf8")));
    if (!isValid) rc = Math.max(rc, 1);
    // Schema failures repeat the same message once per oneOf branch: keep each once.
    const seen = new Set();
    const unique = errors.filter((e) => {
      const key = `${e["Error code"]}|${e.Message}`;
      return seen.has(key) ? false : seen.add(key);
    });
    return { file, valid: isValid, errors: unique.map((e) => ({ code: e["Error code"], message: e.Message })) };
  } catch (e) {
    rc = 2;
    return { file, valid: false, errors: [{ code: "UNREADABLE", message: String(e.message || e) }] };
  }
});
console.log(JSON.stringify(results));
process.exit(rc);
