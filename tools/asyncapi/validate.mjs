// Parses an AsyncAPI document with the official parser (@asyncapi/parser) and
// prints its diagnostics as JSON lines: {severity, code, message, path}.
// Severity 0 is an error. Exit status 1 if there is any error, 0 otherwise.
// Usage: node validate.mjs <document.json>
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
for (const d of diagnostics) {
  console.log(JSON.stringify({severity: d.severity, code: d.code, message: d.message,
                              path: d.path}));
}
const errors = diagnostics.filter(d => d.severity === 0);
if (!document || errors.length) process.exit(1);
console.log(JSON.stringify({channels: document.channels().length,
                            operations: document.operations().length,
                            messages: document.messages().length}));
