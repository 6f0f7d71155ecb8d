// The real Auth.js libraries, for tests/authjs.rs: reads a JSON request on stdin, answers
// JSON on stdout. Run `npm ci` here first (.ci/run does).
//   {"decode": [{"lib": "v4"|"v5", "token", "secret": S or [S…], "salt"?}],
//    "encode": [{"lib": "v4"|"v5", "claims", "secret", "salt"?}],
//    "chunk":  [{"lib", "name", "token"}],             // how the library splits a session cookie
//    "join":   [{"lib", "name", "cookies": {name: value}}]} // how it puts the chunks together
// → {"decoded": [claims or {"error": message}], "encoded": [token], "chunks": [[[name, value]…]],
//    "joined": [token]}
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "package.json"));
const v4 = require("next-auth/jwt");
const v5 = await import("@auth/core/jwt");
// Neither package exports its cookie store: both are read from their files.
const { SessionStore } = await import(join(here, "node_modules/@auth/core/lib/utils/cookie.js"));
const { SessionStore: SessionStore4 } = require(join(here, "node_modules/next-auth/core/lib/cookie.js"));
const logger = { debug() {}, error() {}, warn() {} };

let input = "";
for await (const chunk of process.stdin) input += chunk;
const request = JSON.parse(input);
const lib = (name) => (name === "v4" ? v4 : v5);

const decoded = [];
for (const d of request.decode ?? []) {
  try {
    decoded.push(await lib(d.lib).decode({ token: d.token, secret: d.secret, salt: d.salt ?? "" }));
  } catch (err) {
    decoded.push({ error: String(err?.message ?? err) });
  }
}
const encoded = [];
for (const e of request.encode ?? []) {
  encoded.push(await lib(e.lib).encode({ token: e.claims, secret: e.secret, salt: e.salt ?? "", maxAge: 3600 }));
}
const store = (lib, name, cookies) =>
  lib === "v4"
    ? new SessionStore4({ name, options: {} }, { cookies, headers: {} }, logger)
    : new SessionStore({ name, options: {} }, cookies, logger);
const chunks = (request.chunk ?? []).map(({ lib, name, token }) =>
  store(lib, name, {}).chunk(token, {}).map((c) => [c.name, c.value]),
);
const joined = (request.join ?? []).map(({ lib, name, cookies }) => store(lib, name, cookies).value);
console.log(JSON.stringify({ decoded, encoded, chunks, joined }));
