// Validates OpenAPI files with a real validator (@apidevtools/swagger-parser: the OpenAPI 3.0/3.1 JSON
// schema plus the spec's own rules), then with the checks a strict linter adds that the schema cannot
// express: every operation has a unique operationId, and every `format` is one validators know (an
// unknown one is silently ignored by clients, so a declared constraint would not hold).
// Usage: node validate.mjs FILE...   Exit status 0 when every file passes, 1 otherwise.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let SwaggerParser;
try {
  SwaggerParser = require("@apidevtools/swagger-parser");
} catch {
  console.error("validate.mjs: @apidevtools/swagger-parser is not installed; run scripts/setup " +
                "(npm ci --prefix tests/openapi)");
  process.exit(1);
}

// OpenAPI 3.0's formats and JSON Schema's (draft 2020-12 section 7.3).
const kKnownFormats = new Set([
  "int32", "int64", "float", "double", "byte", "binary", "date", "date-time", "password",
  "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri",
  "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer",
  "relative-json-pointer", "regex",
]);
const kMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function lint(api) {
  const problems = [];
  const ids = new Map();
  for (const [path, item] of Object.entries(api.paths ?? {})) {
    for (const method of kMethods) {
      const op = item[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!op.operationId) problems.push(`${where}: no operationId`);
      else if (ids.has(op.operationId)) problems.push(`${where}: operationId '${op.operationId}' is also used by ${ids.get(op.operationId)}`);
      else ids.set(op.operationId, where);
    }
  }
  // Walk the whole document: schemas sit under components, parameters, bodies and responses alike.
  const walk = (node, at) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${at}/${i}`));
    if (node === null || typeof node !== "object") return;
    if (typeof node.format === "string" && "type" in node && !kKnownFormats.has(node.format))
      problems.push(`${at}: unknown format '${node.format}'`);
    for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`);
  };
  walk(api, "#");
  return problems;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    // parse() keeps the document as written (the $refs unresolved) for lint(); validate() resolves and
    // checks a fresh copy.
    const api = await SwaggerParser.parse(file);
    await SwaggerParser.validate(file);
    const problems = lint(api);
    if (problems.length) throw new Error(problems.join("\n  "));
    console.log(`ok ${file} (OpenAPI ${api.openapi}, ${Object.keys(api.paths ?? {}).length} paths)`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${file}:\n  ${e.message}`);
  }
}
if (process.argv.length < 3) {
  console.error("usage: node validate.mjs FILE...");
  failed = true;
}
process.exit(failed ? 1 : 0);
