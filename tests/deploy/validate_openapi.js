// Validates an OpenAPI document with @apidevtools/swagger-parser: the
// document against the OpenAPI 3.1 JSON Schema, every $ref resolved, and the
// parser's own checks; then what the parser leaves out for 3.x: operationIds
// are unique, every {parameter} of a path is declared, every operation has a
// success answer, and every error answer (4xx, 5xx) is the JSON error shape
// {"error", "code"}. Prints a one-line summary; exits 1 with the reasons when
// the document is not valid.
//   node validate_openapi.js docs/openapi.yaml
"use strict";
const SwaggerParser = require("@apidevtools/swagger-parser");

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function lint(api) {
  const problems = [];
  const ids = new Set();
  for (const [path, item] of Object.entries(api.paths || {})) {
    const templated = [...path.matchAll(/{([^}]+)}/g)].map((m) => m[1]);
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const where = `${m.toUpperCase()} ${path}`;
      if (!op.operationId) problems.push(`${where}: no operationId`);
      else if (ids.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} twice`);
      ids.add(op.operationId);
      const params = [...(item.parameters || []), ...(op.parameters || [])];
      for (const name of templated) {
        if (!params.some((p) => p.in === "path" && p.name === name && p.required)) {
          problems.push(`${where}: path parameter {${name}} not declared (required)`);
        }
      }
      const codes = Object.keys(op.responses || {});
      // a success, or a redirect for an operation whose answer sends a browser on (a callback)
      if (!codes.some((c) => /^[23]/.test(c))) problems.push(`${where}: no 2xx or 3xx answer`);
      for (const code of codes.filter((c) => /^[45]/.test(c))) {
        const schema = (((op.responses[code].content || {})["application/json"]) || {}).schema;
        const props = schema && (schema.properties ||
          (schema.allOf || []).reduce((acc, s) => Object.assign(acc, s.properties || {}), {}));
        if (!props || !props.error || !props.code) {
          problems.push(`${where}: ${code} is not the JSON error shape {"error", "code"}`);
        }
      }
    }
  }
  return problems;
}

async function main(file) {
  const api = await SwaggerParser.validate(file);
  const problems = lint(api);
  if (problems.length) {
    for (const p of problems) console.error(`invalid: ${p}`);
    process.exit(1);
  }
  let operations = 0;
  let responses = 0;
  for (const item of Object.values(api.paths || {})) {
    for (const m of METHODS) {
      if (item[m]) {
        operations += 1;
        responses += Object.keys(item[m].responses || {}).length;
      }
    }
  }
  console.log(`valid OpenAPI ${api.openapi}: ${api.info.title} ${api.info.version}, ` +
              `${Object.keys(api.paths).length} paths, ${operations} operations, ` +
              `${responses} responses`);
}

main(process.argv[2]).catch((err) => {
  console.error(`invalid: ${err.message}`);
  if (err.details) console.error(JSON.stringify(err.details, null, 2));
  process.exit(1);
});
