// Makes tests/authjs/tokens.json with the real Auth.js libraries. Run once, offline after:
//   mkdir -p /tmp/authjs && cd /tmp/authjs && npm init -y && npm i next-auth@4 @auth/core
//   NODE_PATH=/tmp/authjs/node_modules node --experimental-default-type=module \
//     tests/authjs/make-fixtures.mjs > tests/authjs/tokens.json
// (made with next-auth 4.24.15 and @auth/core 0.34.3)
import { createRequire } from "node:module";
const require = createRequire(process.env.NODE_PATH + "/");
const v4 = require("next-auth/jwt");
const v5 = await import(process.env.NODE_PATH + "/@auth/core/jwt.js");

const secret = "fixture-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const claims = { name: "Probe", email: "relcon-probe@example.invalid", sub: "relcon-probe-1" };
const long = { ...claims, picture: "https://example.invalid/" + "p".repeat(5000) };
const out = {
  secret,
  claims,
  v4: await v4.encode({ token: claims, secret }),
  v5_secure: await v5.encode({ token: claims, secret, salt: "__Secure-authjs.session-token" }),
  v5_plain: await v5.encode({ token: claims, secret, salt: "authjs.session-token" }),
  v5_long: await v5.encode({ token: long, secret, salt: "authjs.session-token" }),
};
console.log(JSON.stringify(out, null, 2));
