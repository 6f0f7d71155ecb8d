//! Auth.js session tokens against tokens the real libraries made (`tests/authjs/tokens.json`,
//! made by `tests/authjs/make-fixtures.mjs` with next-auth 4.24.15 and @auth/core 0.34.3).

use relcon::authjs::{cookies, DecodeError, Sealing, Version, CHUNK_SIZE};

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
        long.len() > CHUNK_SIZE,
        "the fixture is long enough to split"
    );
    let parts = cookies("authjs.session-token", long);
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
