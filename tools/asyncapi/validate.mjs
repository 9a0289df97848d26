// Validate AsyncAPI documents with the AsyncAPI project's own parser (@asyncapi/parser).
// Usage: node tools/asyncapi/validate.mjs FILE...   Exit 0 if every document is valid;
// otherwise print each diagnostic (severity 0 = error) and exit 1.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"), {
    source: file,
  });
  const errors = diagnostics.filter((d) => d.severity === 0);
  const warnings = diagnostics.filter((d) => d.severity === 1);
  for (const d of [...errors, ...warnings]) {
    const where = d.path.join(".");
    console.log(`${d.severity === 0 ? "error" : "warning"} ${d.code} at ${where}: ${d.message}`);
  }
  if (document === undefined || errors.length > 0) {
    failed = true;
    console.log(`${file}: INVALID (${errors.length} errors)`);
  } else {
    console.log(`${file}: valid AsyncAPI ${document.version()} (${warnings.length} warnings)`);
  }
}
process.exit(failed ? 1 : 0);
