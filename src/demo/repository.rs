//! The demo's deployed repository: a small Auth.js/Neon backend committed to git, clean
//! (its secrets read from the environment, templates with empty values, CI reading its
//! secrets from the store and a loopback service database), with the migration the
//! shipped checklist runs. Under `committed-secret` a database URL with its password was
//! committed and removed again: it is still in the history.

use std::path::Path;
use std::process::{Command, Stdio};

/// The files of the clean repository: path and contents.
const FILES: &[(&str, &str)] = &[
    (
        "package.json",
        r#"{
  "name": "backend",
  "private": true,
  "scripts": { "build": "next build", "start": "next start" },
  "dependencies": { "next": "15.0.0", "next-auth": "5.0.0-beta.25", "@auth/pg-adapter": "1.7.0" }
}
"#,
    ),
    (
        ".gitignore",
        "node_modules/\n.next/\n.env\n.env.local\n.dev.vars\ndemo.env\n*.pem\n",
    ),
    (
        ".env.example",
        "# Copy to .env.local and fill in; never commit real values.\nAUTH_SECRET=\nAUTH_URL=http://localhost:3000\nNEON_PG_CONN=\nRESEND_API_KEY=\n",
    ),
    (
        "services/backend/auth.ts",
        r#"import NextAuth from "next-auth";
import PostgresAdapter from "@auth/pg-adapter";
import { Pool } from "@neondatabase/serverless";

const pool = new Pool({ connectionString: process.env.NEON_PG_CONN });

export const { handlers, auth, signIn, signOut } = NextAuth({
  adapter: PostgresAdapter(pool),
  secret: process.env.AUTH_SECRET,
  providers: [],
});
"#,
    ),
    (
        ".github/workflows/ci.yml",
        r#"name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_PASSWORD: postgres
        ports: ["5432:5432"]
    env:
      DATABASE_URL: postgres://postgres:postgres@localhost:5432/test
      AUTH_SECRET: ${{ secrets.AUTH_SECRET }}
    steps:
      - uses: actions/checkout@v4
      - run: npm ci && npm test
"#,
    ),
];

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=relcon demo",
            "-c",
            "user.email=demo@relcon.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("git {} failed", args.join(" ")))
    }
}

fn write(dir: &Path, path: &str, text: &str) -> Result<(), String> {
    let full = dir.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(&full, text).map_err(|e| format!("cannot write {}: {e}", full.display()))
}

/// Writes the repository into `dir` (which already holds the migration) and commits it;
/// with `plant`, a committed and removed database URL with its password is in its history.
pub fn write_repository(dir: &Path, plant: bool) -> Result<(), String> {
    for (path, text) in FILES {
        write(dir, path, text)?;
    }
    git(dir, &["init", "-q"])?;
    git(dir, &["add", "-A"])?;
    git(
        dir,
        &["commit", "-q", "-m", "The backend, its migration and CI"],
    )?;
    if plant {
        // Random, so that no one can mistake it for a real credential and no scanner's
        // dictionary knows it.
        let password: String = (0..24)
            .map(|_| {
                let alphabet = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                alphabet[rand::random_range(0..alphabet.len())] as char
            })
            .collect();
        let leaked = format!(
            "NEON_PG_CONN=postgresql://app:{password}@ep-demo-123456.eu-central-1.aws.neon.tech/neondb?sslmode=require\n"
        );
        write(dir, ".env.production", &leaked)?;
        git(dir, &["add", "-f", ".env.production"])?;
        git(dir, &["commit", "-q", "-m", "Production settings"])?;
        git(dir, &["rm", "-q", ".env.production"])?;
        git(dir, &["commit", "-q", "-m", "Remove production settings"])?;
    }
    Ok(())
}
