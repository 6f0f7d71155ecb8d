#!/usr/bin/env python3
"""The repository bench/scan.sh scans, and the scoring of each tool's findings against it.

  scan_repo.py generate OUT [--seed N] [--files 20000] [--mb 300] [--commits 5000]
      Writes OUT/repo, a Next.js / Auth.js / Neon-like git repository (a monorepo: apps,
      packages, docs, fixtures, a force-added node_modules/, lock files, a few binaries) of
      FILES text files and about MB megabytes, whose history of COMMITS commits is written
      with `git fast-import`; and OUT/manifest.json, the planted set: every planted secret
      (kind, relcon rule, path:line, in the tree or only in history) and every look-alike
      that is not a secret. The same seed gives the same repository, byte for byte.

  scan_repo.py score MANIFEST TOOL OUTPUT [--history] [--root REPO]
      Reads a tool's output (relcon's --json document, `git grep -n` lines, detect-secrets'
      JSON, secretlint's JSON, whose absolute paths are made relative to REPO), reduces it to
      hits (path and line, or secretlint's span of lines) and prints one JSON line: found,
      missed, false positives (on look-alike lines, and elsewhere: "other"), with the
      details. A hit matches a planted secret when the path matches and the line does (or
      is inside the span). Without
      --history the planted set is the tree's; with it, the tree's and the history's.

  scan_repo.py table RESULTS
      Prints the side-by-side table (and what each tool missed or reported wrongly) from
      RESULTS, lines of `label<TAB>median ms<TAB>runs<TAB>score file` as bench/scan.sh writes.

Python 3 standard library only.
"""

import argparse
import base64
import json
import os
import random
import re
import string
import subprocess
import sys
import time

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"

# Vendored and generated paths: relcon never scans them, and every tool is given the same
# exclusions so that each scans the same files.
VENDORED_DIRS = ("node_modules", ".next", ".git", ".vercel", ".turbo", "vendor", "target")
VENDORED_NAMES = ("package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "Cargo.lock")


def vendored(path):
    name = path.rsplit("/", 1)[-1]
    return (
        any(part in VENDORED_DIRS for part in path.split("/"))
        or name in VENDORED_NAMES
        or name.endswith((".lock", ".min.js", ".min.css", ".map"))
    )


# ---------------------------------------------------------------------------------------
# Filler: pools of source-like lines per language, none of them a secret or a look-alike.

FIRST = "ada alan grace linus margaret ken dennis barbara edsger donald john frances radia tim sophie hedy joan annie karen guido".split()
LAST = "lovelace turing hopper torvalds hamilton thompson ritchie liskov dijkstra knuth backus allen perlman berners wilson lamarr clarke easley jones rossum".split()
NOUNS = "user account session verification provider team project invoice plan member workspace order item report event webhook email profile setting audit".split()
FIELDS = "id name email image createdAt updatedAt expires role status plan seats slug title count limit offset cursor locale timezone".split()
VERBS = "get list create update delete sync load save find resolve render format parse validate invite archive restore".split()
ADJ = "primary secondary muted accent destructive outline ghost compact wide narrow sticky hidden".split()
TABLES = "users accounts sessions verification_tokens teams projects invoices members audit_log events".split()
ROUTES = "dashboard settings billing teams projects invoices members reports onboarding profile".split()
WORDS = (
    "the deployment database connection request response cache layer provider callback route page "
    "component server client render stream edge runtime handler middleware schema migration table "
    "column index query result error retry timeout release build preview production staging user "
    "session account team project invoice billing plan feature flag rollout metric log trace span "
    "and or with from into when then each every only before after while because however"
).split()
CONSTS = "MAX_RETRIES DEFAULT_PAGE_SIZE CACHE_TTL_SECONDS REQUEST_TIMEOUT_MS MAX_UPLOAD_MB RATE_LIMIT_PER_MINUTE SESSION_MAX_AGE_DAYS INVITE_EXPIRY_HOURS".split()


def cap(w):
    return w[:1].upper() + w[1:]


def cuid(rng):
    return "c" + "".join(rng.choice(LOWER_ALNUM) for _ in range(24))


def uuid(rng):
    h = "".join(rng.choice(HEX) for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def sentence(rng, n=None):
    n = n or rng.randint(6, 16)
    return cap(" ".join(rng.choice(WORDS) for _ in range(n))) + "."


def ts_line(rng):
    n, f, v = rng.choice(NOUNS), rng.choice(FIELDS), rng.choice(VERBS)
    N, V = cap(n), cap(v)
    t = rng.choice(TABLES)
    return rng.choice([
        f'import {{ {v}{N} }} from "@/lib/{n}s";',
        f'import {{ {N}Card }} from "@/components/{n}/{n}-card";',
        f'import type {{ {N} }} from "@acme/db/schema";',
        f"export async function {v}{N}(input: {N}Input): Promise<{N}> {{",
        f"  const {n} = await db.query.{t}.findFirst({{ where: eq({t}.id, input.id) }});",
        f'  if (!{n}) throw new NotFoundError("{n} not found");',
        f"  return {{ ...{n}, {f}: input.{f} ?? {n}.{f} }};",
        "}",
        "",
        f"// {sentence(rng)}",
        f"  // {sentence(rng, 8)}",
        f"export const {rng.choice(CONSTS)} = {rng.randint(1, 5000)};",
        f'  logger.info("{v} {n}", {{ {f}: {n}.{f}, requestId }});',
        f"type {N}{cap(f)} = {{ {f}: string; {rng.choice(FIELDS)}: number }};",
        f"  const {{ data, error }} = use{N}(params.{f});",
        f"  await revalidatePath(`/{rng.choice(ROUTES)}/${{params.slug}}`);",
        f'  const res = await fetch(`${{baseUrl}}/api/{n}s/${{id}}`, {{ method: "{rng.choice(["GET", "POST", "PATCH", "DELETE"])}" }});',
        f"  if (res.status === {rng.choice([400, 401, 403, 404, 409, 422, 500])}) return null;",
        f"  {f}: z.string().min({rng.randint(1, 8)}).max({rng.randint(32, 255)}),",
        f"    .where(and(eq({t}.teamId, teamId), isNull({t}.deletedAt)))",
        f"  for (const {n} of {n}s) {{",
        f"    total += {n}.{f}.length;",
        f"  }}",
        f'  "use server";',
        f"  const session = await auth();",
        f'  if (!session?.user) redirect("/login");',
        f"  {f}: {rng.choice(['text', 'varchar', 'integer', 'timestamp'])}(\"{f}\"){rng.choice(['.notNull()', '', '.defaultNow()'])},",
    ])


def tsx_line(rng):
    if rng.random() < 0.5:
        return ts_line(rng)
    n, f = rng.choice(NOUNS), rng.choice(FIELDS)
    cls = " ".join(rng.sample(["flex", "grid", "gap-2", "gap-4", "p-4", "px-3", "py-2", "rounded-md", "border", "text-sm", "font-medium", "items-center", "justify-between", "w-full", "mt-2"], 4))
    return rng.choice([
        f'    <div className="{cls}">',
        f"      <{cap(n)}Row {n}={{{n}}} key={{{n}.id}} />",
        f'      <Button variant="{rng.choice(ADJ)}" onClick={{() => set{cap(f)}(null)}}>',
        f"        {{{n}.{f}}}",
        "    </div>",
        f"  return (",
        f"  );",
        f'      <p className="text-muted-foreground">{sentence(rng, 7)}</p>',
        f'export default function {cap(n)}Page({{ params }}: {{ params: {{ slug: string }} }}) {{',
        f"  const [{f}, set{cap(f)}] = useState<string | null>(null);",
    ])


def js_min_line(rng):
    parts = []
    for _ in range(rng.randint(4, 14)):
        a, b = rng.choice(VERBS), rng.choice(FIELDS)
        parts.append(rng.choice([
            f"function {a}{cap(b)}(e,t){{return e&&e.{b}?t(e.{b}):null}}",
            f'var {a[0]}{rng.randint(0, 99)}=require("./{a}");',
            f"exports.{a}{cap(b)}={a}{cap(b)};",
            f"if(typeof e!==\"object\")throw new TypeError(\"expected an object\");",
            f"for(var n=0;n<e.length;n++)t.push(e[n].{b});",
            f"Object.defineProperty(exports,\"{b}\",{{enumerable:!0,get:function(){{return {a}}}}});",
        ]))
    return "".join(parts)


def md_line(rng):
    return rng.choice([
        sentence(rng), sentence(rng), sentence(rng, 20),
        f"## {cap(rng.choice(WORDS))} {rng.choice(WORDS)}", "",
        f"- {sentence(rng, 8)}", "```sh", f"pnpm {rng.choice(['dev', 'build', 'test', 'lint', 'db:migrate'])}", "```",
        f"See [{rng.choice(WORDS)}](https://authjs.dev/getting-started/{rng.choice(['installation', 'deployment', 'adapters/neon'])}).",
        f"Fixed in https://github.com/acme/web/commit/{''.join(rng.choice(HEX) for _ in range(40))}.",
    ])


def json_line(rng):
    fn, ln = rng.choice(FIRST), rng.choice(LAST)
    return rng.choice([
        f'    {{ "id": "{cuid(rng)}", "name": "{cap(fn)} {cap(ln)}", "email": "{fn}.{ln}@example.com", "plan": "{rng.choice(["free", "pro", "team"])}", "seats": {rng.randint(1, 50)} }},',
        f'    {{ "id": "{uuid(rng)}", "event": "{rng.choice(VERBS)}.{rng.choice(NOUNS)}", "at": "2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z" }},',
        f'    {{ "id": {rng.randint(1, 99999)}, "title": "{sentence(rng, 5)}", "status": "{rng.choice(["open", "closed", "draft"])}" }},',
    ])


def css_line(rng):
    return rng.choice([
        f".{rng.choice(NOUNS)}-{rng.choice(ADJ)} {{",
        f"  display: {rng.choice(['flex', 'grid', 'block', 'none'])};",
        f"  gap: {rng.randint(1, 32)}px;",
        f"  color: hsl(var(--{rng.choice(ADJ)}-foreground));",
        f"  padding: {rng.randint(0, 24)}px {rng.randint(0, 24)}px;",
        "}", "",
    ])


def sql_line(rng):
    fn, ln = rng.choice(FIRST), rng.choice(LAST)
    return rng.choice([
        f"INSERT INTO \"user\" (id, name, email) VALUES ('{uuid(rng)}', '{cap(fn)} {cap(ln)}', '{fn}.{ln}@example.com');",
        f"CREATE INDEX IF NOT EXISTS {rng.choice(TABLES)}_{rng.choice(FIELDS).lower()}_idx ON {rng.choice(TABLES)} ({rng.choice(FIELDS)});",
        f"ALTER TABLE {rng.choice(TABLES)} ADD COLUMN IF NOT EXISTS {rng.choice(FIELDS).lower()} text;",
        f"-- {sentence(rng, 9)}",
    ])


def yaml_line(rng):
    return rng.choice([
        f"  - name: {cap(rng.choice(VERBS))} {rng.choice(NOUNS)}",
        f"    run: pnpm {rng.choice(['install --frozen-lockfile', 'build', 'test', 'lint', 'typecheck'])}",
        f"  {rng.choice(FIELDS)}: {rng.randint(1, 100)}",
        f"  {rng.choice(NOUNS)}_{rng.choice(FIELDS).lower()}: {rng.choice(['true', 'false', 'auto'])}",
        f"# {sentence(rng, 7)}",
    ])


def csv_line(rng):
    fn, ln = rng.choice(FIRST), rng.choice(LAST)
    return f"{rng.randint(1, 10**6)},{uuid(rng)},{fn}.{ln}@example.com,2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(['free', 'pro', 'team'])},{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}"


def sh_line(rng):
    return rng.choice([
        f'echo "{sentence(rng, 5)}"', f"pnpm {rng.choice(['build', 'db:migrate', 'test'])}",
        f"# {sentence(rng, 8)}", 'if [ -z "${CI:-}" ]; then', "fi", f"sleep {rng.randint(1, 5)}",
    ])


def py_line(rng):
    return rng.choice([
        f"def {rng.choice(VERBS)}_{rng.choice(NOUNS)}(conn, {rng.choice(FIELDS).lower()}):",
        f"    rows = conn.execute(\"SELECT id FROM {rng.choice(TABLES)} LIMIT {rng.randint(1, 500)}\").fetchall()",
        f"    # {sentence(rng, 8)}", "    return rows", "",
    ])


GENERATORS = {
    "ts": ts_line, "tsx": tsx_line, "js": js_min_line, "md": md_line, "json": json_line,
    "css": css_line, "sql": sql_line, "yaml": yaml_line, "csv": csv_line, "sh": sh_line,
    "py": py_line,
}


class Pools:
    def __init__(self, seed):
        self.pools = {}
        for lang, gen in GENERATORS.items():
            rng = random.Random(f"{seed}:pool:{lang}")
            self.pools[lang] = [gen(rng) for _ in range(6000)]

    def lines(self, lang, rng, size):
        """Pool lines of `lang` until about `size` bytes."""
        pool = self.pools[lang]
        avg = max(8, sum(len(l) + 1 for l in pool[:500]) // 500)
        return rng.choices(pool, k=max(1, size // avg))


# ---------------------------------------------------------------------------------------
# The planted set.

def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng, payload):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = b64url(bytes(rng.getrandbits(8) for _ in range(32)))
    return f"{header}.{body}.{sig}"


def b64secret(rng, nbytes=32):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(nbytes))).decode()


# How the base64 of each key format begins (an ASN.1 SEQUENCE, or OpenSSH's magic), as in
# real keys: scanners that check the key's structure (secretlint) look for it.
MAGIC = {
    "RSA": "MIIEowIBAAKCAQEA",
    "OPENSSH": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "EC": "MHcCAQEEI",
    "PKCS8": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ",
}


def key_body(rng, lines=25, kind="RSA"):
    body = [base64.b64encode(bytes(rng.getrandbits(8) for _ in range(48))).decode() for _ in range(lines)]
    body[0] = MAGIC[kind] + body[0][len(MAGIC[kind]):]
    return body


def sentry_secret(rng):
    return f"https://{rand(rng, HEX, 32)}:{rand(rng, HEX, 32)}@o{rng.randint(100000, 999999)}.ingest.sentry.io/{rng.randint(1000000, 9999999)}"


def neon_url(rng, role="neondb_owner", db="neondb", pooler=True):
    host = f"ep-{rng.choice(['cool', 'quiet', 'bold', 'still'])}-{rng.choice(['darkness', 'river', 'meadow', 'frost'])}-{rng.randint(100000, 999999)}{'-pooler' if pooler else ''}.{rng.choice(['us-east-2', 'eu-central-1'])}.aws.neon.tech"
    return f"postgresql://{role}:npg_{rand(rng, ALNUM, 12)}@{host}/{db}?sslmode=require"


def S(kind, rule, text):
    """A secret in the final tree."""
    return ("S", kind, rule, text)


def L(kind, text):
    """A look-alike: not a secret; no tool should report its line."""
    return ("L", kind, None, text)


def H(kind, rule, text, clean):
    """A secret only in history: added in one commit, then its line replaced by `clean` (a
    look-alike) or, when `clean` is None, the file deleted."""
    return ("H", kind, rule, text, clean)


def planted_files(rng):
    """(path, lang, items): items are plain lines, ("FILL", n) for n filler lines of the
    language, or S / L / H markers."""
    ghp = lambda: "ghp_" + rand(rng, ALNUM, 36)
    akia = lambda: "AKIA" + rand(rng, UPPER_ALNUM, 16)
    xoxb = lambda: f"xoxb-{rng.randint(10**9, 10**10 - 1)}-{rng.randint(10**12, 10**13 - 1)}-{rand(rng, ALNUM, 24)}"
    resend = lambda: f"re_{rand(rng, ALNUM, 8)}_{rand(rng, ALNUM, 24)}"
    gocspx = lambda: "GOCSPX-" + rand(rng, ALNUM + "_-", 28)
    hex64 = lambda: rand(rng, HEX, 64)
    now = 1717000000
    files = [
        (".env", "sh", [
            "# Local defaults for the web app (see .env.example).",
            'AUTH_URL="http://localhost:3000"',
            S("auth-secret", "named-secret", f"AUTH_SECRET={b64secret(rng)}"),
            "AUTH_TRUST_HOST=true",
            S("resend-api-key", "resend-api-key", f"AUTH_RESEND_KEY={resend()}"),
            L("next-public-key", f"NEXT_PUBLIC_POSTHOG_KEY=phc_{rand(rng, ALNUM, 43)}"),
            'NEXT_PUBLIC_POSTHOG_HOST="https://eu.i.posthog.com"',
        ]),
        (".env.production", "sh", [
            "# Production configuration, committed by mistake.",
            'AUTH_URL="https://app.acme-cloud.io"',
            S("auth-secret", "named-secret", f'AUTH_SECRET="{b64secret(rng)}"'),
            'AUTH_GOOGLE_ID="4815162342-abcdefghijklmnopqrstuvwxyz123456.apps.googleusercontent.com"',
            S("google-oauth-secret", "google-oauth-secret", f"AUTH_GOOGLE_SECRET={gocspx()}"),
            S("connection-string", "connection-string", f"DATABASE_URL={neon_url(rng)}"),
            S("generic-secret", "generic-secret", f"CRON_SECRET={hex64()}"),
            L("next-public-key", f"NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY=pk_live_{rand(rng, ALNUM, 48)}"),
            L("next-public-key (a Supabase anon key, a JWT published by design)",
              "NEXT_PUBLIC_SUPABASE_ANON_KEY=" + jwt(rng, {"iss": "supabase", "ref": rand(rng, string.ascii_lowercase, 20), "role": "anon", "iat": now, "exp": now + 10**8})),
        ]),
        (".env.local", "sh", [
            "# Force-added local overrides (.gitignore lists .env*.local).",
            S("auth-secret", "named-secret", f"NEXTAUTH_SECRET={hex64()}"),
            'NEXTAUTH_URL="http://localhost:3000"',
        ]),
        ("apps/web/.env.staging", "sh", [
            "# Staging",
            'AUTH_URL="https://staging.acme-cloud.io"',
            S("generic-secret", "generic-secret", f"UPSTASH_REDIS_REST_TOKEN={b64secret(rng, 45)}"),
            'UPSTASH_REDIS_REST_URL="https://eu1-quiet-cobra-31337.upstash.io"',
        ]),
        (".env.example", "sh", [
            "# Copy to .env.local and fill in.",
            L("empty value", "AUTH_SECRET="),
            L("empty value", "AUTH_GOOGLE_SECRET="),
            L("placeholder", "AUTH_GITHUB_SECRET=<your-secret>"),
            L("localhost URL", "DATABASE_URL=postgresql://user:password@localhost:5432/mydb"),
            L("placeholder", "RESEND_API_KEY=re_123456789"),
            L("placeholder", "CRON_SECRET=changeme"),
            L("placeholder", "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX"),
        ]),
        (".github/workflows/ci.yml", "yaml", [
            "name: CI", "on: [push, pull_request]", "jobs:", "  test:", "    runs-on: ubuntu-latest",
            "    services:", "      postgres:", "        image: postgres:16",
            "        env:", L("service container password", "          POSTGRES_PASSWORD: postgres"),
            "    env:",
            L("CI secret reference", "      AUTH_SECRET: ${{ secrets.AUTH_SECRET }}"),
            L("localhost URL", "      DATABASE_URL: postgres://postgres:postgres@localhost:5432/test"),
            L("service container URL", "      DATABASE_URL_SERVICE: postgres://postgres:postgres@postgres:5432/test"),
            L("CI secret reference", "      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"),
            "    steps:", "      - uses: actions/checkout@v4", ("FILL", 12),
        ]),
        (".github/workflows/release.yml", "yaml", [
            "name: Release", "on:", "  push:", "    tags: ['v*']", "jobs:", "  release:",
            "    runs-on: ubuntu-latest", "    env:",
            S("github-token", "github-token", f"      GH_TOKEN: {ghp()}"),
            "    steps:", "      - uses: actions/checkout@v4", ("FILL", 10),
        ]),
        (".github/workflows/deploy.yml", "yaml", [
            "name: Deploy", "on: workflow_dispatch", "jobs:", "  deploy:", "    runs-on: ubuntu-latest", "    env:",
            S("generic-secret", "generic-secret", f"      VERCEL_TOKEN: {rand(rng, ALNUM, 24)}"),
            L("CI secret reference", "      VERCEL_ORG_ID: ${{ secrets.VERCEL_ORG_ID }}"),
            "    steps:", ("FILL", 8),
        ]),
        ("deploy/keys/id_ed25519", None, [
            S("private-key", "private-key", "-----BEGIN OPENSSH PRIVATE KEY-----"),
            *key_body(rng, 6, "OPENSSH"), "-----END OPENSSH PRIVATE KEY-----",
        ]),
        ("certs/server.key", None, [
            S("private-key", "private-key", "-----BEGIN RSA PRIVATE KEY-----"),
            *key_body(rng, 25), "-----END RSA PRIVATE KEY-----",
        ]),
        ("certs/ec-prime256v1.pem", "crlf", [
            S("private-key", "private-key", "-----BEGIN EC PRIVATE KEY-----"),
            *key_body(rng, 3, "EC"), "-----END EC PRIVATE KEY-----",
        ]),
        ("infra/gcp/service-account.json", None, [
            "{", '  "type": "service_account",', '  "project_id": "acme-prod-412207",',
            f'  "private_key_id": "{rand(rng, HEX, 40)}",',
            S("private-key", "private-key", '  "private_key": "-----BEGIN PRIVATE KEY-----\\n' + "\\n".join(key_body(rng, 4, "PKCS8")) + '\\n-----END PRIVATE KEY-----\\n",'),
            '  "client_email": "deployer@acme-prod-412207.iam.gserviceaccount.com"', "}",
        ]),
        ("infra/terraform/provider.tf", None, [
            'provider "aws" {', '  region     = "eu-central-1"',
            S("aws-access-key", "aws-access-key", f'  access_key = "{akia()}"'),
            S("aws-secret-key", "generic-secret", f'  secret_key = "{rand(rng, B64, 40)}"'),
            "}", "", 'variable "db_password" {', '  type    = string',
            L("placeholder", '  default = "REPLACE_ME"'), "}",
        ]),
        ("apps/web/auth.ts", "ts", [
            'import NextAuth from "next-auth";', 'import Google from "next-auth/providers/google";', ("FILL", 20),
            "export const { handlers, auth, signIn, signOut } = NextAuth({",
            L("env reference", "  secret: process.env.AUTH_SECRET,"),
            "  providers: [Google],", "});", ("FILL", 30),
        ]),
        ("apps/web/app/api/auth/[...nextauth]/route.ts", "ts", [
            'import NextAuth from "next-auth";', ("FILL", 6), "const handler = NextAuth({",
            S("authjs-secret", "authjs-secret", f'  secret: "{rand(rng, ALNUM, 32)}",'),
            "  providers: [],", "});", "export { handler as GET, handler as POST };",
        ]),
        ("apps/web/auth.config.ts", "ts", [
            'import GitHub from "next-auth/providers/github";', ("FILL", 15), "  Google({",
            '    clientId: "4815162342-abcdefghijklmnopqrstuvwxyz123456.apps.googleusercontent.com",',
            S("google-oauth-secret", "google-oauth-secret", f'    clientSecret: "{gocspx()}",'), "  }),",
            L("env reference", "  GitHub({ clientId: process.env.AUTH_GITHUB_ID, clientSecret: process.env.AUTH_GITHUB_SECRET }),"),
            ("FILL", 15),
        ]),
        ("apps/web/lib/notify.ts", "ts", [
            ("FILL", 40), S("slack-token", "slack-token", f'const SLACK_BOT_TOKEN = "{xoxb()}";'), ("FILL", 40),
        ]),
        ("packages/email/src/client.ts", "ts", [
            'import { Resend } from "resend";', ("FILL", 10),
            S("resend-api-key", "resend-api-key", f'export const resend = new Resend("{resend()}");'),
            L("env reference", "  apiKey: process.env.RESEND_API_KEY,"), ("FILL", 10),
        ]),
        ("apps/web/sentry.server.config.ts", "ts", [
            'import * as Sentry from "@sentry/nextjs";', "Sentry.init({",
            S("sentry-dsn-secret", "sentry-dsn-secret", f'  dsn: "{sentry_secret(rng)}",'),
            "  tracesSampleRate: 0.1,", "});",
        ]),
        ("apps/web/sentry.client.config.ts", "ts", [
            'import * as Sentry from "@sentry/nextjs";', "Sentry.init({",
            L("public Sentry DSN (no secret key)", f'  dsn: "https://{rand(rng, HEX, 32)}@o{rng.randint(100000, 999999)}.ingest.us.sentry.io/{rng.randint(1000000, 9999999)}",'),
            "});",
        ]),
        ("tests/e2e/fixtures/session.http", None, [
            "### The signed-in user's profile", "GET https://app.acme-cloud.io/api/me",
            S("jwt", "jwt", "Authorization: Bearer " + jwt(rng, {"sub": cuid(rng), "email": "grace@acme-cloud.io", "iat": now, "exp": now + 86400 * 30})),
        ]),
        ("apps/web/lib/supabase-admin.ts", "ts", [
            ("FILL", 12),
            S("jwt", "jwt", 'const serviceRole = "' + jwt(rng, {"iss": "supabase", "ref": rand(rng, string.ascii_lowercase, 20), "role": "service_role", "iat": now, "exp": now + 10**8}) + '";'),
            ("FILL", 12),
        ]),
        ("docker-compose.prod.yml", "yaml", [
            "services:", "  web:", "    image: ghcr.io/acme/web:latest", "    environment:",
            S("auth-secret", "named-secret", f"      AUTH_SECRET: {b64secret(rng)}"),
            '      AUTH_URL: "https://app.acme-cloud.io"',
        ]),
        ("docker-compose.yml", "yaml", [
            "services:", "  db:", "    image: postgres:16", "    environment:",
            L("service container password", "      POSTGRES_PASSWORD: postgres"),
            "  web:", "    build: .", "    environment:",
            L("variable reference", "      AUTH_SECRET: ${AUTH_SECRET}"),
            L("service container URL", "      DATABASE_URL: postgres://postgres:postgres@db:5432/app"),
        ]),
        ("packages/db/drizzle.config.ts", "ts", [
            'import { defineConfig } from "drizzle-kit";', "export default defineConfig({",
            '  schema: "./src/schema.ts",', "  dbCredentials: {",
            S("connection-string", "connection-string", f'    url: "{neon_url(rng, role="app_user", db="app", pooler=False)}",'),
            "  },", "});",
        ]),
        ("packages/db/src/client.ts", "ts", [
            ("FILL", 8),
            L("localhost URL", 'const url = process.env.DATABASE_URL ?? "postgres://postgres:postgres@localhost:5432/postgres";'),
            ("FILL", 8),
        ]),
        ("scripts/migrate.sh", "sh", [
            "#!/usr/bin/env bash", "set -euo pipefail", ("FILL", 6),
            S("connection-string", "connection-string", f'psql "postgresql://migrator:{rand(rng, ALNUM, 20)}@db.prod-cluster.acme-internal.io:5432/app" -f migrations/latest.sql'),
            ("FILL", 4),
        ]),
        ("scripts/dev-db.sh", "sh", [
            "#!/usr/bin/env bash", ("FILL", 4),
            L("localhost URL", "psql postgres://postgres:postgres@127.0.0.1:5432/dev -c 'select 1'"),
        ]),
        ("config/settings.yaml", "yaml", [
            "analytics:", "  enabled: true",
            S("generic-secret", "generic-secret", f"  api_token: {b64secret(rng, 24)}"),
            L("variable reference", "  fallback_token: ${API_TOKEN}"), ("FILL", 20),
        ]),
        ("apps/web/lib/stripe.ts", "ts", [
            'import Stripe from "stripe";', ("FILL", 6),
            S("generic-secret", "generic-secret", f'const STRIPE_SECRET_KEY = "sk_live_{rand(rng, ALNUM, 24)}";'),
            ("FILL", 10),
        ]),
        ("packages/analytics/config.json", None, [
            "{", '  "endpoint": "https://analytics.acme-cloud.io/v1",',
            S("generic-secret", "generic-secret", f'  "apiKey": "{rand(rng, HEX, 32)}",'),
            '  "flushAt": 20', "}",
        ]),
        ("scripts/seed.py", "py", [
            "import os", ("FILL", 6),
            S("generic-secret", "generic-secret", f'ADMIN_PASSWORD = "{rand(rng, ALNUM, 18)}"'), ("FILL", 12),
        ]),
        ("scripts/sync-labels.mjs", "ts", [
            ("FILL", 5),
            S("github-token", "github-token", f'const octokit = new Octokit({{ auth: "github_pat_11{rand(rng, UPPER_ALNUM, 20)}_{rand(rng, ALNUM, 59)}" }});'),
            ("FILL", 5),
        ]),
        ("docs/aws.md", "md", [
            "# AWS credentials", ("FILL", 10), "```sh",
            L("documentation example", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"),
            L("documentation example", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "```", ("FILL", 10),
        ]),
        ("docs/setup.md", "md", [
            "# Setup", ("FILL", 10), "```sh",
            L("placeholder", "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            L("placeholder", "AUTH_GOOGLE_SECRET=GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            L("placeholder", "DATABASE_URL=postgresql://neondb_owner:<password>@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb"),
            L("placeholder", "SLACK_BOT_TOKEN=xoxb-your-bot-token"),
            L("placeholder", 'AUTH_SECRET="your-secret-here"'),
            "```", ("FILL", 10),
        ]),
        ("apps/web/lib/config.ts", "ts", [
            ("FILL", 6),
            L("not a secret (a length)", "export const PASSWORD_MIN_LENGTH = 12;"),
            L("not a secret (a cookie name)", 'export const SESSION_TOKEN_COOKIE = "authjs.session-token";'),
            L("not a secret (a storage key)", 'export const THEME_STORAGE_KEY = "app-theme-v2";'),
            ("FILL", 6),
        ]),
        ("apps/web/lib/keys.ts", "ts", [
            ("FILL", 6),
            L("code that recognises keys", '  if (pem.includes("-----BEGIN RSA PRIVATE KEY-----")) {'),
            ("FILL", 6),
        ]),
        ("k8s/secret.yaml", "yaml", [
            "apiVersion: v1", "kind: Secret", "metadata:", "  name: web", "stringData:",
            L("template reference", '  AUTH_SECRET: "{{ .Values.authSecret }}"'),
        ]),
        ("docs/jwt.md", "md", [
            ("FILL", 5),
            L("a JWT header alone", "The header eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 decodes to the algorithm and type."),
            ("FILL", 5),
        ]),
        # Only in history.
        (".env.production.backup", "sh", [
            "# backup of the production env",
            H("auth-secret", "named-secret", f"AUTH_SECRET={b64secret(rng)}", None),
            'AUTH_URL="https://app.acme-cloud.io"',
        ]),
        ("apps/web/lib/db.ts", "ts", [
            'import { Pool } from "@neondatabase/serverless";', ("FILL", 10),
            H("connection-string", "connection-string",
              f'export const pool = new Pool({{ connectionString: "{neon_url(rng)}" }});',
              "export const pool = new Pool({ connectionString: process.env.DATABASE_URL });"),
            ("FILL", 10),
        ]),
        (".github/workflows/e2e.yml", "yaml", [
            "name: E2E", "on: [push]", "jobs:", "  e2e:", "    runs-on: ubuntu-latest", "    env:",
            H("generic-secret", "generic-secret", f"      AUTH_GITHUB_SECRET: {rand(rng, HEX, 40)}",
              "      AUTH_GITHUB_SECRET: ${{ secrets.AUTH_GITHUB_SECRET }}"),
            "    steps:", ("FILL", 6),
        ]),
        ("scripts/backup.sh", "sh", [
            "#!/usr/bin/env bash", ("FILL", 4),
            H("aws-access-key", "aws-access-key", f"export AWS_ACCESS_KEY_ID={akia()}", None),
            ("FILL", 4),
        ]),
        ("deploy/old/id_rsa", None, [
            H("private-key", "private-key", "-----BEGIN RSA PRIVATE KEY-----", None),
            *key_body(rng, 25), "-----END RSA PRIVATE KEY-----",
        ]),
        ("apps/web/app/api/slack/route.ts", "ts", [
            ("FILL", 8),
            H("slack-token", "slack-token", f'const client = new WebClient("{xoxb()}");',
              "const client = new WebClient(process.env.SLACK_BOT_TOKEN);"),
            ("FILL", 8),
        ]),
        ("apps/admin/.env", "sh", [
            "# admin app",
            H("resend-api-key", "resend-api-key", f"RESEND_API_KEY={resend()}", None),
        ]),
        ("apps/web/lib/github.ts", "ts", [
            ("FILL", 8),
            H("github-token", "github-token", f'const octokit = new Octokit({{ auth: "{ghp()}" }});',
              "const octokit = new Octokit({ auth: process.env.GITHUB_TOKEN });"),
            ("FILL", 8),
        ]),
        ("tests/fixtures/token.json", None, [
            "{", H("jwt", "jwt", '  "accessToken": "' + jwt(rng, {"sub": cuid(rng), "scope": "admin", "iat": now}) + '"', None), "}",
        ]),
        ("config/sentry.ts", "ts", [
            ("FILL", 3),
            H("sentry-dsn-secret", "sentry-dsn-secret", f'export const dsn = "{sentry_secret(rng)}";',
              f'export const dsn = "https://{rand(rng, HEX, 32)}@o{rng.randint(100000, 999999)}.ingest.sentry.io/{rng.randint(1000000, 9999999)}";'),
            ("FILL", 3),
        ]),
    ]
    return files


def deep_plants(rng):
    """Secrets deep inside large files: (path, lang, size, marker)."""
    return [
        ("fixtures/large/export-2023.json", "json", 1_000_000,
         S("generic-secret", "generic-secret", f'    {{ "id": 88412, "webhook_secret": "whsec_{b64secret(rng, 24)}" }},')),
        ("docs/runbooks/incident-log.md", "md", 800_000,
         S("github-token", "github-token", f"Rotated after the incident; the old value was GITHUB_TOKEN=ghp_{rand(rng, ALNUM, 36)} (revoked?)")),
    ]


# ---------------------------------------------------------------------------------------
# The tree.

class File:
    __slots__ = ("path", "lang", "size", "versions", "items", "binary", "deleted_at", "secret_at")

    def __init__(self, path, lang, size):
        self.path, self.lang, self.size = path, lang, size
        self.versions = []  # commit numbers, the first adds the file
        self.items = None  # planted files: their line items
        self.binary = False
        self.deleted_at = None
        self.secret_at = None


def layout(seed, nfiles, total_mb):
    """The files of the final tree (text and binary) and the planted ones."""
    rng = random.Random(f"{seed}:layout")
    files, seen = [], set()

    def add(path, lang, size):
        if path in seen:
            return None
        seen.add(path)
        f = File(path, lang, size)
        files.append(f)
        return f

    prng = random.Random(f"{seed}:planted")
    special = planted_files(prng)
    for path, lang, items in special:
        f = add(path, lang, 0)
        f.items = items
    deep = deep_plants(prng)
    for path, lang, size, marker in deep:
        f = add(path, lang, size)
        f.items = [("FILL", None), marker, ("FILL", None)]

    # Fixed files: config, lock files.
    for path, lang, size in [
        ("package.json", "json", 3000), ("pnpm-lock.yaml", "yaml", 1_200_000),
        ("package-lock.json", "json", 2_600_000), ("README.md", "md", 9000),
        ("CHANGELOG.md", "md", 200_000), ("tsconfig.json", "json", 800),
        ("next.config.mjs", "ts", 1200), (".gitignore", None, 0), ("turbo.json", "json", 600),
    ]:
        add(path, lang, size)

    # Large files: fixtures, data, docs (300 KB to 1 MB).
    scale = nfiles / 20000
    for i in range(max(5, round(110 * scale))):
        kind = rng.choice([("fixtures/large", "json", "json"), ("data/exports", "csv", "csv"), ("docs/archive", "md", "md"), ("packages/db/seeds", "sql", "sql")])
        add(f"{kind[0]}/{rng.choice(NOUNS)}-{i:03d}.{kind[2]}", kind[1], rng.randint(300_000, 1_000_000))
    # Minified bundles and source maps (vendored).
    for i in range(max(2, round(20 * scale))):
        add(f"apps/web/public/vendor/{rng.choice(NOUNS)}-{i}.min.js", "js", rng.randint(50_000, 300_000))
        add(f"apps/web/public/vendor/{rng.choice(NOUNS)}-{i}.min.js.map", "json", rng.randint(50_000, 300_000))

    # node_modules: force-added, about 3,000 files.
    pkgs = [f"{p}{'-' + s if s else ''}" for p in ["next", "react", "zod", "drizzle", "auth", "resend", "stripe", "sentry", "lodash", "date", "clsx", "jose", "oauth", "pg", "neon", "tailwind", "postcss", "esbuild", "swc", "undici"] for s in ["", "core", "utils", "types", "dom", "server", "node", "cli"]]
    nm_target, nm = round(3000 * scale), 0
    while nm < nm_target:
        p = rng.choice(pkgs)
        name = rng.choice(["index", "utils", "core", "client", "server", "types", "shared", "runtime", "compat", "helpers"])
        sub = rng.choice(["dist", "lib", "esm", "cjs", "dist/esm", "dist/cjs"])
        ext, lang = rng.choice([("js", "js"), ("js", "js"), ("d.ts", "ts"), ("md", "md"), ("json", "json")])
        if add(f"node_modules/{p}/{sub}/{name}-{rng.randint(0, 40)}.{ext}", lang, int(rng.lognormvariate(8.8, 0.9))):
            nm += 1

    # Binaries (not counted as text files).
    binaries = []
    for i in range(20):
        f = add(f"apps/web/public/{rng.choice(['images', 'fonts', 'icons'])}/{rng.choice(NOUNS)}-{i}.{rng.choice(['png', 'woff2', 'ico', 'webp'])}", None, rng.randint(2_000, 120_000))
        f.binary = True
        binaries.append(f)

    # Source files until the count: apps, packages, docs, tests.
    dirs = []
    for app in ["web", "admin", "marketing"]:
        for seg in ROUTES + ["(auth)/login", "(auth)/register", "(marketing)/pricing", "api/webhooks", "api/cron", "[team]/settings", "[team]/[project]"]:
            dirs.append((f"apps/{app}/app/{seg}", ["page.tsx", "layout.tsx", "loading.tsx", "actions.ts", "route.ts", "error.tsx"]))
        for group in NOUNS:
            dirs.append((f"apps/{app}/components/{group}", None))
        dirs.append((f"apps/{app}/lib", None))
        dirs.append((f"apps/{app}/styles", None))
    for pkg in ["db", "auth", "email", "ui", "analytics", "billing", "config", "utils", "jobs", "search"]:
        for sub in ["src", "src/schema", "src/queries", "src/__tests__", "migrations", "docs"]:
            dirs.append((f"packages/{pkg}/{sub}", None))
    for d in ["docs/guides", "docs/adr", "docs/api", "tests/e2e", "tests/unit", "tests/fixtures", "scripts", "fixtures/small"]:
        dirs.append((d, None))
    ext_for = {
        "components": [("tsx", "tsx")] * 4 + [("ts", "ts"), ("css", "css")],
        "lib": [("ts", "ts")] * 5 + [("json", "json")],
        "styles": [("css", "css")],
        "migrations": [("sql", "sql")],
        "docs": [("md", "md")],
        "schema": [("ts", "ts")],
        "queries": [("ts", "ts"), ("sql", "sql")],
        "__tests__": [("test.ts", "ts")],
        "e2e": [("spec.ts", "ts")],
        "unit": [("test.ts", "ts")],
        "fixtures": [("json", "json"), ("csv", "csv"), ("yaml", "yaml")],
        "small": [("json", "json"), ("csv", "csv")],
        "scripts": [("sh", "sh"), ("py", "py"), ("mjs", "ts")],
        "guides": [("md", "md")], "adr": [("md", "md")], "api": [("md", "md"), ("yaml", "yaml")],
        "src": [("ts", "ts")] * 3 + [("tsx", "tsx")],
    }
    text_target = nfiles
    fixed_bytes = sum(f.size for f in files)
    # Files planted only in history are deleted by the end: they do not count.
    deleted = sum(1 for f in files if f.items and any(isinstance(m, tuple) and m[0] == "H" and m[4] is None for m in f.items))
    remaining = text_target - sum(1 for f in files if not f.binary) + deleted
    avg = max(500, (total_mb * 1_000_000 - fixed_bytes - 900_000 * 2) // max(1, remaining))
    mu = __import__("math").log(avg) - 0.5 * 0.8 ** 2
    count = text_target - remaining
    while count < text_target:
        d, names = rng.choice(dirs)
        if names:
            name = rng.choice(names)
            ext, lang = name.rsplit(".", 1)[1], ("tsx" if name.endswith("tsx") else "ts")
            path = f"{d}/{rng.choice(['', 'v2/', 'new/', 'beta/', 'legacy/'])}{rng.choice(NOUNS)}-{rng.randint(0, 60)}/{name}"
        else:
            key = d.rsplit("/", 1)[-1]
            ext, lang = rng.choice(ext_for.get(key, [("ts", "ts"), ("md", "md")]))
            path = f"{d}/{rng.choice(VERBS)}-{rng.choice(NOUNS)}-{rng.randint(0, 99)}.{ext}"
        if add(path, lang, max(200, min(120_000, int(rng.lognormvariate(mu, 0.8))))):
            count += 1
    return files, binaries


def special_lines(f, pools, seed, version=None):
    """A planted file's lines and its markers' line numbers: [(line_no, marker)]."""
    rng = random.Random(f"{seed}:{f.path}:fill")
    lines, marks = [], []
    for item in f.items:
        if isinstance(item, str):
            lines.append(item)
        elif item[0] == "FILL":
            if item[1] is None:  # half the file's size around a deep plant
                lines.extend(pools.lines(f.lang, rng, f.size // 2))
            else:
                lines.extend(rng.choices(pools.pools[f.lang or "ts"], k=item[1]))
        else:
            marks.append((len(lines) + 1, item))
            if item[0] == "H" and version == "clean":
                lines.append(item[4])
            else:
                lines.append(item[3])
    return lines, marks


def render(lines, crlf=False):
    sep = "\r\n" if crlf else "\n"
    return (sep.join(lines) + sep).encode()


def content(f, version_index, pools, seed):
    """The bytes of version `version_index` of `f` (the last version is the final one)."""
    if f.binary:
        rng = random.Random(f"{seed}:{f.path}:bin")
        head = {"png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "woff2": b"wOF2\x00\x01\x00\x00", "ico": b"\x00\x00\x01\x00\x01\x00", "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 "}[f.path.rsplit(".", 1)[1]]
        return head + bytes(rng.getrandbits(8) for _ in range(f.size))
    if f.items is not None:
        if f.secret_at is not None:
            lines, _ = special_lines(f, pools, seed, "secret" if version_index == 0 else "clean")
        else:
            lines, _ = special_lines(f, pools, seed)
        return render(lines, crlf=(f.lang == "crlf"))
    if f.path == ".gitignore":
        return b"node_modules/\n.next/\n.env*.local\n.vercel\n"
    rng = random.Random(f"{seed}:{f.path}")
    lines = pools.lines(f.lang, rng, f.size)
    last = len(f.versions) - 1
    if version_index < last:
        vr = random.Random(f"{seed}:{f.path}:v{version_index}")
        keep = max(1, int(len(lines) * (0.5 + 0.5 * (version_index + 1) / (last + 1))))
        lines = lines[:keep]
        pool = pools.pools[f.lang]
        for _ in range(max(1, len(lines) // 40)):
            lines[vr.randrange(len(lines))] = vr.choice(pool)
    return render(lines)


def schedule(files, seed, ncommits):
    """Each file's versions (commit numbers); planted history files get their secret version
    and its removal. Every commit changes at least one file."""
    rng = random.Random(f"{seed}:history")
    node_modules_commit = max(1, ncommits * 24 // 100)
    by_commit = {}
    for f in files:
        if f.path.startswith("node_modules/"):
            f.versions = [node_modules_commit]
        elif f.items is not None:
            hist = [m for m in f.items if isinstance(m, tuple) and m[0] == "H"]
            add = rng.randint(max(1, ncommits // 100), ncommits * 88 // 100)
            if hist:
                f.secret_at = add
                remove = add + rng.randint(5, max(5, ncommits // 12))
                if hist[0][4] is None:
                    f.versions, f.deleted_at = [add], remove
                else:
                    f.versions = [add, remove]
            else:
                f.versions = [add]
        elif f.path in ("package.json", ".gitignore", "tsconfig.json", "README.md", "next.config.mjs", "turbo.json"):
            f.versions = [1]
        elif f.path in ("pnpm-lock.yaml", "package-lock.json"):
            f.versions = [1] + sorted(rng.sample(range(2, ncommits + 1), 8))
        elif f.binary or f.size > 250_000:
            f.versions = [rng.randint(1, ncommits)]
        else:
            add = 1 if rng.random() < 0.08 else rng.randint(1, ncommits)
            extra = rng.choices([0, 1, 2, 3, 5], weights=[45, 30, 15, 7, 3])[0]
            later = range(add + 1, ncommits + 1)
            f.versions = [add] + (sorted(rng.sample(later, min(extra, len(later)))) if later else [])
        for c in f.versions:
            by_commit.setdefault(c, []).append(f)
        if f.deleted_at:
            by_commit.setdefault(f.deleted_at, []).append(f)
    # Planted files are never touched again: their line numbers hold. Fill empty commits
    # with an edit to a small ordinary file that exists by then.
    ordinary = [f for f in files if f.items is None and not f.binary and f.lang and f.size < 30_000 and not f.path.startswith("node_modules/") and f.path not in ("pnpm-lock.yaml", "package-lock.json")]
    for c in range(1, ncommits + 1):
        if c in by_commit:
            continue
        for _ in range(100):
            f = rng.choice(ordinary)
            if f.versions[0] < c and c not in f.versions:
                f.versions = sorted(f.versions + [c])
                by_commit[c] = [f]
                break
        else:
            f = rng.choice(ordinary)
            f.versions = sorted(set([c] + f.versions))
            by_commit[c] = [f]
    return by_commit


def generate(args):
    t0 = time.time()
    out = os.path.abspath(args.out)
    repo = os.path.join(out, "repo")
    if os.path.exists(repo):
        sys.exit(f"{repo} exists; remove it first")
    os.makedirs(out, exist_ok=True)
    seed = args.seed
    pools = Pools(seed)
    files, binaries = layout(seed, args.files, args.mb)
    by_commit = schedule(files, seed, args.commits)

    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    fi = subprocess.Popen(["git", "-C", repo, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    w = fi.stdin
    when = 1609459200  # 2021-01-01
    rng = random.Random(f"{seed}:commits")
    authors = [f"{cap(a)} {cap(b)} <{a}@acme-cloud.io>" for a, b in zip(FIRST, LAST)]
    hist_commits = {}
    blob_bytes = 0
    for c in range(1, args.commits + 1):
        when += rng.randint(600, 30000)
        author = rng.choice(authors)
        msg = f"{rng.choice(['feat', 'fix', 'chore', 'refactor', 'docs', 'test'])}: {rng.choice(VERBS)} {rng.choice(NOUNS)} {rng.choice(FIELDS)} (#{c})\n".encode()
        w.write(f"commit refs/heads/main\nmark :{c}\nauthor {author} {when} +0000\ncommitter {author} {when} +0000\ndata {len(msg)}\n".encode() + msg)
        if c > 1:
            w.write(f"from :{c - 1}\n".encode())
        for f in by_commit.get(c, []):
            if f.deleted_at == c:
                w.write(f"D {f.path}\n".encode())
                continue
            data = content(f, f.versions.index(c), pools, seed)
            blob_bytes += len(data)
            w.write(f"M 100644 inline {f.path}\ndata {len(data)}\n".encode())
            w.write(data)
            w.write(b"\n")
            if f.secret_at == c:
                hist_commits[f.path] = c
    w.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "-C", repo, "checkout", "-q", "-f", "main"], check=True)

    # The manifest: every marker with its path and line.
    planted, lookalikes = [], []
    for f in files:
        if f.items is None:
            continue
        version = "secret" if f.secret_at is not None else None
        _, marks = special_lines(f, pools, seed, version)
        for line, m in marks:
            entry = {"path": f.path, "line": line, "kind": m[1], "text": m[3]}
            if m[0] == "S":
                planted.append({**entry, "rule": m[2], "where": "tree"})
            elif m[0] == "L":
                lookalikes.append(entry)
            else:
                removed = f.deleted_at or f.versions[1]
                planted.append({**entry, "rule": m[2], "where": "history", "added_in_commit": f.secret_at, "removed_in_commit": removed,
                                "removed_by": "file deleted" if f.deleted_at else "line replaced"})
                if m[4] is not None:
                    lookalikes.append({"path": f.path, "line": line, "kind": "reference after removal", "text": m[4]})
    tracked = subprocess.run(["git", "-C", repo, "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
    tracked = [t.decode() for t in tracked if t]
    size = sum(os.path.getsize(os.path.join(repo, p)) for p in tracked)
    text = len(tracked) - len(binaries)
    manifest = {
        "seed": seed, "commits": args.commits, "tracked_files": len(tracked), "text_files": text,
        "binary_files": len(binaries), "tree_bytes": size,
        "vendored_files": sum(1 for p in tracked if vendored(p)),
        "history_blob_bytes_written": blob_bytes,
        "planted": planted, "lookalikes": lookalikes,
    }
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    print(f"generated {repo}: {len(tracked)} files ({text} text, {len(binaries)} binary), {size / 1e6:.0f} MB in the tree, "
          f"{args.commits} commits ({blob_bytes / 1e6:.0f} MB of blobs written); planted {sum(p['where'] == 'tree' for p in planted)} secrets in the tree, "
          f"{sum(p['where'] == 'history' for p in planted)} only in history, {len(lookalikes)} look-alikes; {time.time() - t0:.0f} s", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# Scoring.

LOCATION = re.compile(r"^(?P<path>.*?):(?P<line>\d+)(?P<history> in history.*)?$")


def hits_relcon(text):
    doc = json.loads(text)
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("findings"), list) and "files_scanned" in node:
                for f in node["findings"]:
                    m = LOCATION.match(f.get("location", ""))
                    if m:
                        found.add((m["path"], int(m["line"]), int(m["line"]), "history" if m["history"] else "tree", f.get("rule")))
                return
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


def hits_gitgrep(text):
    found = set()
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            found.add((parts[0], int(parts[1]), int(parts[1]), "tree", None))
    return found


def hits_detect_secrets(text):
    doc = json.loads(text)
    return {(path, r["line_number"], r["line_number"], "tree", r.get("type")) for path, rs in doc.get("results", {}).items() for r in rs}


def hits_secretlint(text, root):
    found = set()
    if not text.strip():
        return found
    for result in json.loads(text):
        path = os.path.relpath(result["filePath"], root) if os.path.isabs(result["filePath"]) else result["filePath"]
        for m in result.get("messages", []):
            loc = m.get("loc") or {}
            first = loc.get("start", {}).get("line")
            if first is not None:
                last = loc.get("end", {}).get("line", first)
                found.add((path, int(first), int(last), "tree", m.get("ruleId")))
    return found


def score(args):
    manifest = json.load(open(args.manifest))
    text = open(args.output, encoding="utf-8", errors="replace").read()
    if args.tool == "relcon":
        hits = hits_relcon(text)
    elif args.tool == "git-grep":
        hits = hits_gitgrep(text)
    elif args.tool == "detect-secrets":
        hits = hits_detect_secrets(text)
    elif args.tool == "secretlint":
        hits = hits_secretlint(text, args.root or "")
    else:
        sys.exit(f"unknown tool {args.tool}")
    planted = [p for p in manifest["planted"] if args.history or p["where"] == "tree"]
    looks = {}
    for l in manifest["lookalikes"]:
        looks.setdefault(l["path"], []).append(l)
    # A hit is a span of lines (one line for all but secretlint's multi-line findings, such as
    # a whole credentials file). A tree hit matches a secret planted in the tree, a history
    # hit (relcon's "in history") one planted only in history, when the span holds its line.
    by_path = {}
    for h in hits:
        by_path.setdefault((h[0], h[3]), []).append(h)
    found, missed, used = [], [], set()
    for p in planted:
        got = [h for h in by_path.get((p["path"], p["where"]), []) if h[1] <= p["line"] <= h[2]]
        used.update(got)
        (found if got else missed).append({**p, "reported_as": sorted({h[4] or "" for h in got})})
    # The rest, by line: on a look-alike line, or elsewhere ("other").
    on_lookalikes, other, seen = [], [], set()
    for h in sorted(hits - used):
        on = [l for l in looks.get(h[0], []) if h[3] == "tree" and h[1] <= l["line"] <= h[2]]
        key = (h[0], h[1], h[3])
        if key in seen:
            continue
        seen.add(key)
        entry = {"path": h[0], "line": h[1], "where": h[3], "reported_as": [h[4] or ""]}
        if on:
            on_lookalikes.extend({**l, **entry, "line": l["line"]} for l in on)
        else:
            other.append(entry)
    result = {
        "tool": args.tool, "planted": len(planted), "found": len(found), "missed": len(missed),
        "false_positives": len(on_lookalikes) + len(other), "on_lookalikes": len(on_lookalikes), "other_hits": len(other),
        "hits": len(hits), "missed_detail": missed, "lookalike_detail": on_lookalikes,
        "other_detail": other[:50], "other_by_file_kind": {},
    }
    kinds = {}
    for o in other:
        ext = o["path"].rsplit("/", 1)[-1].rsplit(".", 1)[-1] if "." in o["path"].rsplit("/", 1)[-1] else o["path"].rsplit("/", 1)[-1]
        kinds[ext] = kinds.get(ext, 0) + 1
    result["other_by_file_kind"] = dict(sorted(kinds.items(), key=lambda kv: -kv[1]))
    print(json.dumps(result))


def table(args):
    """The side-by-side table from RESULTS: one line per run, `label<TAB>ms<TAB>runs<TAB>score file`."""
    rows = []
    for line in open(args.results):
        label, ms, runs, path = line.rstrip("\n").split("\t")
        rows.append((label, int(ms), runs, json.load(open(path))))
    base = next((ms for label, ms, _, _ in rows if label.startswith("relcon") and "history" not in label), None)
    head = ("tool", "wall time", "× relcon", "found", "missed", "false positives", "on look-alikes", "other hits")
    out = [head]
    for label, ms, runs, sc in rows:
        out.append((label, f"{ms / 1000:.2f} s", f"{ms / base:.2f}×" if base else "-",
                    f"{sc['found']}/{sc['planted']}", str(sc["missed"]), str(sc["false_positives"]),
                    str(sc["on_lookalikes"]), str(sc["other_hits"])))
    widths = [max(len(r[i]) for r in out) for i in range(len(head))]
    for i, r in enumerate(out):
        print("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    by = lambda prefix: next((ms for label, ms, _, _ in rows if label.startswith(prefix)), None)
    grep, ds, sl = by("git grep"), by("detect-secrets"), by("secretlint")
    if base and grep:
        r = base / grep
        print(f"target relcon ≤ 2× git grep on the tree: {'met' if r <= 2 else 'NOT met'} ({r:.3f}×; stretch ≤ 1×: {'met' if r <= 1 else 'not met'})")
    if base and ds and sl:
        print(f"target faster than detect-secrets and secretlint: {'met' if base < min(ds, sl) else 'NOT met'} "
              f"({ds / base:.0f}× and {sl / base:.0f}× faster)")
    print()
    for label, ms, runs, sc in rows:
        print(f"{label}: runs {runs} ms")
        for m in sc["missed_detail"]:
            print(f"  missed   {m['path']}:{m['line']} ({m['where']}, {m['kind']}): {m['text'][:110]}")
        for m in sc["lookalike_detail"]:
            print(f"  reported look-alike {m['path']}:{m['line']} as {','.join(m['reported_as'])} ({m['kind']}): {m['text'][:110]}")
        if sc["other_hits"]:
            kinds = ", ".join(f"{k} {v}" for k, v in list(sc["other_by_file_kind"].items())[:8])
            print(f"  other hits by file type: {kinds}")
            for o in sc["other_detail"][:3]:
                print(f"    e.g. {o['path']}:{o['line']} ({o['where']}) as {','.join(o['reported_as'])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("out")
    g.add_argument("--seed", type=int, default=20250101)
    g.add_argument("--files", type=int, default=20000)
    g.add_argument("--mb", type=int, default=300)
    g.add_argument("--commits", type=int, default=5000)
    s = sub.add_parser("score")
    s.add_argument("manifest")
    s.add_argument("tool", choices=["relcon", "git-grep", "detect-secrets", "secretlint"])
    s.add_argument("output")
    s.add_argument("--history", action="store_true")
    s.add_argument("--root")
    t = sub.add_parser("table")
    t.add_argument("results")
    args = ap.parse_args()
    {"generate": generate, "score": score, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
