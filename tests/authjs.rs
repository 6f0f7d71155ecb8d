//! Auth.js session tokens against the real libraries: tokens they made once
//! (`tests/authjs/tokens.json`, by `tests/authjs/make-fixtures.mjs`) and, live, next-auth 4
//! and @auth/core as locked in `tests/authjs/package.json` (installed by `npm ci` there,
//! which `.ci/run` runs and these tests run when it has not been), in both directions: they
//! decode relcon's tokens and split and join its chunks, relcon decodes theirs.

use relcon::authjs::{cookies, DecodeError, Sealing, Version};

fn fixtures() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/authjs/tokens.json"
    ))
    .expect("the fixtures");
    serde_json::from_str(&text).expect("JSON")
}

fn token<'a>(fixtures: &'a serde_json::Value, name: &str) -> &'a str {
    fixtures[name].as_str().expect("a token")
}

#[test]
fn tokens_made_by_next_auth_4_and_auth_core_decode_with_their_secret() {
    let fixtures = fixtures();
    let secret = token(&fixtures, "secret").as_bytes();
    let cases = [
        ("v4", Version::V4, ""),
        ("v5_secure", Version::V5, "__Secure-authjs.session-token"),
        ("v5_plain", Version::V5, "authjs.session-token"),
    ];
    for (name, version, salt) in cases {
        let sealing = Sealing {
            version,
            secret,
            salt,
        };
        let claims = sealing.decode(token(&fixtures, name)).expect(name);
        for key in ["name", "email", "sub"] {
            assert_eq!(claims[key], fixtures["claims"][key], "{name} {key}");
        }
        for key in ["iat", "exp", "jti"] {
            assert!(!claims[key].is_null(), "{name} has {key}");
        }
        let wrong = Sealing {
            secret: b"a different secret of the same kind 0123456789",
            ..sealing.clone()
        };
        assert_eq!(
            wrong.decode(token(&fixtures, name)),
            Err(DecodeError::OtherSecret),
            "{name}"
        );
    }
    // v5 salts with the cookie name: the secure cookie's token is not the plain one's.
    let plain = Sealing {
        version: Version::V5,
        secret,
        salt: "authjs.session-token",
    };
    assert!(plain.decode(token(&fixtures, "v5_secure")).is_err());
}

#[test]
fn a_v5_token_carries_the_kid_auth_core_gives_its_key() {
    // The fixture's header names its key; a token made here with the same secret and
    // cookie name must name the same one, or a deployment with rotated secrets would not
    // know which to decrypt with.
    let fixtures = fixtures();
    let header_of = |token: &str| -> serde_json::Value {
        use base64::Engine;
        let part = token.split('.').next().expect("a header");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let theirs = header_of(token(&fixtures, "v5_plain"));
    let sealing = Sealing {
        version: Version::V5,
        secret: token(&fixtures, "secret").as_bytes(),
        salt: "authjs.session-token",
    };
    let ours = header_of(&sealing.encode(&serde_json::json!({"sub": "x"})));
    assert_eq!(ours, theirs);
    assert_eq!(ours["enc"], "A256CBC-HS512");
    let v4 = header_of(token(&fixtures, "v4"));
    assert_eq!(v4, serde_json::json!({"alg": "dir", "enc": "A256GCM"}));
}

#[test]
fn a_long_token_is_split_where_auth_core_splits_it() {
    let fixtures = fixtures();
    let long = token(&fixtures, "v5_long");
    assert!(
        long.len() > Version::V5.chunk_size(),
        "the fixture is long enough to split"
    );
    let parts = cookies(Version::V5, "authjs.session-token", long);
    assert_eq!(parts.len(), long.len().div_ceil(3936));
    assert!(parts.iter().all(|(_, v)| v.len() <= 3936));
    let joined: String = parts.iter().map(|(_, v)| v.as_str()).collect();
    let claims = Sealing {
        version: Version::V5,
        secret: token(&fixtures, "secret").as_bytes(),
        salt: "authjs.session-token",
    }
    .decode(&joined)
    .expect("the joined chunks decode");
    assert!(claims["picture"].as_str().is_some_and(|p| p.len() > 5000));
}

/// Asks the real libraries (`tests/authjs/interop.mjs`) `request`.
fn real_authjs(request: serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/authjs");
    INSTALLED.call_once(|| {
        if dir.join("node_modules/next-auth").exists()
            && dir.join("node_modules/@auth/core").exists()
        {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (node and npm are needed for these tests)");
        assert!(status.success(), "`npm ci` in tests/authjs failed");
    });
    let mut child = Command::new("node")
        .arg(dir.join("interop.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("writes the request");
    let output = child.wait_with_output().expect("node ends");
    assert!(
        output.status.success(),
        "interop.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from interop.mjs")
}

const SECRET: &str = "live-interop-secret-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const ROTATED: &str = "the-newer-rotation-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn claims() -> serde_json::Value {
    serde_json::json!({
        "name": "relcon probe",
        "email": "relcon-probe-1-abcd@example.invalid",
        "sub": "relcon-probe-0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "iat": 1_900_000_000u64,
        "exp": 4_100_000_000u64,
        "jti": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
    })
}

#[test]
fn the_real_libraries_decode_relcons_tokens_v4_and_v5_and_auth_core_finds_the_key_by_kid() {
    let claims = claims();
    let v4 = Sealing {
        version: Version::V4,
        secret: SECRET.as_bytes(),
        salt: "",
    }
    .encode(&claims);
    let seal5 = |salt| Sealing {
        version: Version::V5,
        secret: SECRET.as_bytes(),
        salt,
    };
    let v5_secure = seal5("__Secure-authjs.session-token").encode(&claims);
    let v5_plain = seal5("authjs.session-token").encode(&claims);
    let answer = real_authjs(serde_json::json!({"decode": [
        {"lib": "v4", "token": v4, "secret": SECRET},
        {"lib": "v5", "token": v5_secure, "secret": SECRET, "salt": "__Secure-authjs.session-token"},
        {"lib": "v5", "token": v5_plain, "secret": SECRET, "salt": "authjs.session-token"},
        // A deployment with a newer rotation secret first: the kid leads it to ours.
        {"lib": "v5", "token": v5_plain, "secret": [ROTATED, SECRET], "salt": "authjs.session-token"},
        // One that runs another secret only: rejected.
        {"lib": "v5", "token": v5_plain, "secret": ROTATED, "salt": "authjs.session-token"},
        {"lib": "v4", "token": v4, "secret": ROTATED},
    ]}));
    let decoded = answer["decoded"].as_array().expect("decoded");
    for (i, got) in decoded.iter().take(4).enumerate() {
        for key in ["name", "email", "sub", "iat", "exp", "jti"] {
            assert_eq!(got[key], claims[key], "token {i}: {key} in {got}");
        }
    }
    for (i, got) in decoded.iter().enumerate().skip(4) {
        assert!(
            got.get("email").is_none(),
            "token {i} with another secret must not decode: {got}"
        );
    }
}

#[test]
fn relcon_decodes_tokens_the_real_libraries_make_now() {
    let claims = claims();
    let answer = real_authjs(serde_json::json!({"encode": [
        {"lib": "v4", "claims": claims, "secret": SECRET},
        {"lib": "v5", "claims": claims, "secret": SECRET, "salt": "__Secure-authjs.session-token"},
    ]}));
    let cases = [
        (Version::V4, ""),
        (Version::V5, "__Secure-authjs.session-token"),
    ];
    for (token, (version, salt)) in answer["encoded"]
        .as_array()
        .expect("encoded")
        .iter()
        .zip(cases)
    {
        let token = token.as_str().expect("a token");
        let sealing = Sealing {
            version,
            secret: SECRET.as_bytes(),
            salt,
        };
        let got = sealing.decode(token).expect("relcon decodes it");
        assert_eq!(got["email"], claims["email"]);
        assert_eq!(got["sub"], claims["sub"]);
        let other = Sealing {
            secret: ROTATED.as_bytes(),
            ..sealing
        };
        assert_eq!(other.decode(token), Err(DecodeError::OtherSecret));
    }
}

#[test]
fn a_long_token_is_chunked_and_joined_as_each_generation_does_and_still_decodes() {
    let mut claims = claims();
    claims["picture"] = serde_json::json!(format!("https://example.invalid/{}", "p".repeat(9000)));
    for (lib, version, name) in [
        ("v5", Version::V5, "__Secure-authjs.session-token"),
        ("v4", Version::V4, "__Secure-next-auth.session-token"),
    ] {
        let salt = if version == Version::V4 { "" } else { name };
        let token = Sealing {
            version,
            secret: SECRET.as_bytes(),
            salt,
        }
        .encode(&claims);
        let ours = cookies(version, name, &token);
        assert!(ours.len() >= 3, "long enough for three chunks");
        let by_name: serde_json::Map<String, serde_json::Value> = ours
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::json!(v)))
            .collect();
        let answer = real_authjs(serde_json::json!({
            "chunk": [{"lib": lib, "name": name, "token": token}],
            "join": [{"lib": lib, "name": name, "cookies": by_name}],
        }));
        let theirs: Vec<(String, String)> =
            serde_json::from_value(answer["chunks"][0].clone()).expect("chunks");
        assert_eq!(ours, theirs, "{lib}: the same names and the same cuts");
        let joined = answer["joined"][0].as_str().expect("joined");
        assert_eq!(joined, token, "{lib}");
        let decoded = real_authjs(serde_json::json!({"decode": [
            {"lib": lib, "token": joined, "secret": SECRET, "salt": salt},
        ]}));
        assert_eq!(decoded["decoded"][0]["picture"], claims["picture"], "{lib}");
    }
}
