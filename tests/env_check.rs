//! The `env` kind: every rule, each failing alone; a secret's value never shown (only its
//! fingerprint), any other input's value shown with its source, a URL's password masked.

mod common;

use common::{run_checklist, HEADER};
use relcon::status::Status;
use tokio_util::sync::CancellationToken;

const INPUTS: &str = r#"
[inputs]
SECRET = { secret = true }
OTHER = { secret = true }
URL = {}
DB = { secret = true }
DB_DIRECT = { secret = true }
DSN = {}
MAIL = { secret = true }
RATE = {}
MODE = {}
ID = {}

[connections.migrate]
from = ["DB_DIRECT", "DB"]
"#;

const STRONG: &str = "Zq3vJ8kP2mX9rT5wY1bN7cF4hL6dS0gA8eU2iO5pK3=";

/// Runs one env item with `body` as its keys and returns its status and summary.
async fn judge(body: &str, vars: &[(&str, &str)]) -> (Status, String) {
    let text = format!("{HEADER}{INPUTS}\n[[item]]\nid = \"e\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"env\"\nhelp = \"h\"\n{body}\n");
    let run = run_checklist(&text, vars, 8, CancellationToken::new()).await;
    let result = &run.results["e"];
    let shown = format!("{} {}", result.summary, result.evidence);
    let secret = |name: &str| INPUTS.contains(&format!("\n{name} = {{ secret = true }}"));
    for (_, value) in vars.iter().filter(|(name, _)| secret(name)) {
        if value.len() >= 4 {
            assert!(
                !shown.contains(value),
                "a value reached the result: {shown}"
            );
        }
    }
    (result.status, result.summary.clone())
}

fn rule(keys: &str) -> String {
    format!("[[item.rules]]\n{keys}\n")
}

#[tokio::test]
async fn presence_and_unset_outcomes() {
    assert_eq!(
        judge(&rule("names = [\"SECRET\"]"), &[]).await.0,
        Status::Pass,
        "unset and optional"
    );
    assert_eq!(
        judge(&rule("names = [\"SECRET\"]\non_unset = \"warn\""), &[]).await,
        (Status::Warn, "SECRET is not set".into())
    );
    assert_eq!(
        judge(&rule("names = [\"SECRET\"]\non_unset = \"fail\""), &[]).await,
        (Status::Fail, "SECRET is not set".into())
    );
    assert_eq!(
        judge(
            &rule("names = [\"SECRET\"]\non_unset = \"fail\""),
            &[("SECRET", "")]
        )
        .await
        .0,
        Status::Fail,
        "empty is unset"
    );
    let one_of = "one_of = [[\"SECRET\", \"OTHER\"]]";
    assert_eq!(judge(one_of, &[("OTHER", STRONG)]).await.0, Status::Pass);
    assert_eq!(
        judge(one_of, &[]).await,
        (Status::Fail, "none of SECRET, OTHER is set".into())
    );
}

#[tokio::test]
async fn length_entropy_and_forbidden_words() {
    let strong = rule("names = [\"SECRET\"]\nmin_length = 32\nmin_entropy_bits = 112\nforbidden = [\"devsecret\", \"changeme\"]");
    assert_eq!(judge(&strong, &[("SECRET", STRONG)]).await.0, Status::Pass);
    assert_eq!(
        judge(
            &rule("names = [\"SECRET\"]\nmin_length = 32"),
            &[("SECRET", "x7Hq9Lw2p")]
        )
        .await,
        (
            Status::Fail,
            "SECRET is 9 characters long, expected at least 32".into()
        )
    );
    let (status, summary) = judge(
        &rule("names = [\"SECRET\"]\nmin_entropy_bits = 112"),
        &[("SECRET", "abababababababababababababababababab")],
    )
    .await;
    assert_eq!(status, Status::Fail);
    // A repeated pair is worth one choice of pair and of length, nowhere near its length's
    // worth of letters.
    let bits: u32 = summary
        .strip_prefix("SECRET has about ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(bits < 30, "{summary}");
    assert!(summary.contains("expected at least 112"), "{summary}");
    assert_eq!(
        judge(
            &rule("names = [\"SECRET\"]\nforbidden = [\"devsecret\"]"),
            &[("SECRET", "my-DevSecret-for-local-use-only-1234")]
        )
        .await,
        (
            Status::Fail,
            "SECRET contains a development value (one of the item's `forbidden` words)".into()
        )
    );
}

#[tokio::test]
async fn patterns_and_exact_values() {
    let pattern = rule(
        "names = [\"ID\"]\npattern = '^[0-9]+-[a-z0-9_]{32}\\.apps\\.googleusercontent\\.com$'",
    );
    assert_eq!(
        judge(
            &pattern,
            &[(
                "ID",
                "1234-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
            )]
        )
        .await
        .0,
        Status::Pass
    );
    assert_eq!(
        judge(&pattern, &[("ID", "not-a-client-id")]).await.0,
        Status::Fail
    );
    let equals = rule("names = [\"MODE\"]\nequals = \"production\"\non_unset = \"warn\"");
    assert_eq!(
        judge(&equals, &[("MODE", "production")]).await.0,
        Status::Pass
    );
    assert_eq!(
        judge(&equals, &[("MODE", "development")]).await,
        (Status::Fail, "MODE is not \"production\"".into())
    );
    assert_eq!(judge(&equals, &[]).await.0, Status::Warn);
}

#[tokio::test]
async fn url_formats() {
    let https = rule(
        "names = [\"URL\"]\nformat = \"https-url\"\nallowed_paths = [\"\", \"/\", \"/api/auth\"]",
    );
    for good in [
        "https://app.example.com",
        "https://app.example.com/",
        "https://app.example.com/api/auth",
    ] {
        assert_eq!(
            judge(&https, &[("URL", good)]).await.0,
            Status::Pass,
            "{good}"
        );
    }
    for (bad, why) in [
        ("http://app.example.com", "is not an https URL"),
        (
            "https://app.example.com/other",
            "has a path beyond the canonical origin",
        ),
        (
            "https://app.example.com/?x=1",
            "has credentials, a query or a fragment",
        ),
        ("app.example.com", "is not a URL"),
    ] {
        let (status, summary) = judge(&https, &[("URL", bad)]).await;
        assert_eq!(status, Status::Fail, "{bad}");
        assert!(
            summary.starts_with(&format!("URL {why}")),
            "{bad}: {summary}"
        );
    }
    let plain = rule("names = [\"URL\"]\nformat = \"url\"");
    assert_eq!(
        judge(&plain, &[("URL", "http://x.example")]).await.0,
        Status::Pass
    );
    assert_eq!(judge(&plain, &[("URL", "mailto:x")]).await.0, Status::Fail);
}

#[tokio::test]
async fn postgres_urls_need_tls_off_loopback() {
    let pg = rule("names = [\"DB\"]\nformat = \"postgres-url\"");
    assert_eq!(
        judge(
            &pg,
            &[(
                "DB",
                "postgresql://app:pw@ep-x.eu.aws.neon.tech/db?sslmode=require"
            )]
        )
        .await
        .0,
        Status::Pass
    );
    assert_eq!(
        judge(&pg, &[("DB", "postgres://app:pw@127.0.0.1:5432/db")])
            .await
            .0,
        Status::Pass,
        "loopback needs no TLS"
    );
    let (status, summary) = judge(&pg, &[("DB", "postgres://app:pw@db.example.com/db")]).await;
    assert_eq!(status, Status::Fail);
    assert!(summary.contains("without requiring TLS"), "{summary}");
    assert_eq!(
        judge(&pg, &[("DB", "mysql://app:pw@db.example.com/db")])
            .await
            .0,
        Status::Fail
    );
}

#[tokio::test]
async fn connections_are_judged_on_their_resolved_value() {
    let pooler = rule("connection = \"migrate\"\nwarn_pattern = '-pooler\\.'\nwarn_message = \"use the direct host\"");
    let pooled = "postgresql://app:pw@ep-x-pooler.eu.aws.neon.tech/db?sslmode=require";
    let direct = "postgresql://owner:pw@ep-x.eu.aws.neon.tech/db?sslmode=require";
    assert_eq!(
        judge(&pooler, &[("DB", pooled)]).await,
        (
            Status::Warn,
            "connection `migrate` (from DB): use the direct host".into()
        )
    );
    assert_eq!(
        judge(&pooler, &[("DB", pooled), ("DB_DIRECT", direct)])
            .await
            .0,
        Status::Pass,
        "the direct input wins"
    );
}

#[tokio::test]
async fn sentry_smtp_and_numbers() {
    let dsn = rule("names = [\"DSN\"]\nformat = \"sentry-dsn\"\non_unset = \"warn\"");
    assert_eq!(
        judge(&dsn, &[("DSN", "https://abc123@o1.ingest.sentry.io/4504")])
            .await
            .0,
        Status::Pass
    );
    assert_eq!(
        judge(&dsn, &[("DSN", "https://o1.ingest.sentry.io/4504")])
            .await
            .0,
        Status::Fail,
        "no key"
    );
    assert_eq!(
        judge(&dsn, &[("DSN", "https://abc@o1.ingest.sentry.io/project")])
            .await
            .0,
        Status::Fail,
        "project id not numeric"
    );
    assert_eq!(judge(&dsn, &[]).await.0, Status::Warn);
    let smtp = rule("names = [\"MAIL\"]\nformat = \"smtp-url\"");
    assert_eq!(
        judge(&smtp, &[("MAIL", "smtps://user:pw@smtp.example.com:465")])
            .await
            .0,
        Status::Pass
    );
    assert_eq!(
        judge(&smtp, &[("MAIL", "https://smtp.example.com")])
            .await
            .0,
        Status::Fail
    );
    let rate = rule("names = [\"RATE\"]\nformat = \"number\"\nmin = 0\nmax = 1");
    assert_eq!(judge(&rate, &[("RATE", "0.25")]).await.0, Status::Pass);
    assert_eq!(
        judge(&rate, &[("RATE", "1.5")]).await,
        (Status::Fail, "RATE is outside [0, 1]".into())
    );
    assert_eq!(
        judge(&rate, &[("RATE", "lots")]).await,
        (Status::Fail, "RATE is not a number".into())
    );
}

#[tokio::test]
async fn pairs_and_agreement() {
    let pairs = "pairs = [[\"ID\", \"SECRET\"]]";
    assert_eq!(judge(pairs, &[]).await.0, Status::Pass, "neither set");
    assert_eq!(
        judge(pairs, &[("ID", "id-1234"), ("SECRET", STRONG)])
            .await
            .0,
        Status::Pass
    );
    assert_eq!(
        judge(pairs, &[("ID", "id-1234")]).await,
        (Status::Fail, "ID set without SECRET".into())
    );
    let agree = "agree = [[\"SECRET\", \"OTHER\"]]";
    assert_eq!(
        judge(agree, &[("SECRET", STRONG), ("OTHER", STRONG)])
            .await
            .0,
        Status::Pass
    );
    assert_eq!(
        judge(
            agree,
            &[("SECRET", STRONG), ("OTHER", "another-secret-value-1234")]
        )
        .await,
        (Status::Fail, "SECRET and OTHER differ".into())
    );
    let warn = "agree = [[\"SECRET\", \"OTHER\"]]\non_disagree = \"warn\"";
    assert_eq!(
        judge(
            warn,
            &[("SECRET", STRONG), ("OTHER", "another-secret-value-1234")]
        )
        .await
        .0,
        Status::Warn
    );
}

#[tokio::test]
async fn evidence_shows_presence_length_entropy_and_fingerprint_only() {
    let text = format!("{HEADER}{INPUTS}\n[[item]]\nid = \"e\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"env\"\nhelp = \"h\"\n[[item.rules]]\nnames = [\"SECRET\", \"OTHER\"]\n");
    let run = run_checklist(&text, &[("SECRET", STRONG)], 8, CancellationToken::new()).await;
    let evidence = &run.results["e"].evidence["variables"];
    assert_eq!(evidence["SECRET"]["set"], true);
    assert_eq!(evidence["SECRET"]["length"], STRONG.chars().count());
    assert!(evidence["SECRET"]["entropy_bits"]
        .as_u64()
        .is_some_and(|bits| bits > 150));
    assert_eq!(
        evidence["SECRET"]["fingerprint"].as_str().map(str::len),
        Some(8)
    );
    assert_eq!(evidence["OTHER"], serde_json::json!({"set": false}));
}

#[tokio::test]
async fn random_hex_and_base64_secrets_pass_and_padded_dev_values_fail() {
    // The shipped rule for the Auth.js secret, on what `openssl rand -hex 16` and
    // `openssl rand -base64 33` make (seeded, so a failure repeats). A full check per value
    // is slow: 300 of each here, 10,000 of each through the estimator in its unit test.
    let shipped = rule("names = [\"SECRET\"]\nmin_length = 32\nmin_entropy_bits = 112\nforbidden = [\"devsecret\", \"changeme\", \"secret\", \"password\", \"example\"]");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(17);
    let draw = |rng: &mut rand::rngs::StdRng, alphabet: &[u8], len: usize| -> String {
        (0..len)
            .map(|_| alphabet[rand::Rng::random_range(rng, 0..alphabet.len())] as char)
            .collect()
    };
    for _ in 0..300 {
        let hex = draw(&mut rng, b"0123456789abcdef", 32);
        let (status, why) = judge(&shipped, &[("SECRET", hex.as_str())]).await;
        assert_eq!(status, Status::Pass, "{hex}: {why}");
        let b64 = draw(
            &mut rng,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            44,
        );
        let (status, why) = judge(&shipped, &[("SECRET", b64.as_str())]).await;
        assert_eq!(status, Status::Pass, "{b64}: {why}");
    }
    for weak in [
        "a".repeat(44),
        format!("devsecret{}", "0".repeat(40)),
        "devsecretdevsecretdevsecretdevsecret".to_string(),
        "0123456789abcdefghijklmnopqrstuvwxyz".to_string(),
    ] {
        let (status, why) = judge(&shipped, &[("SECRET", weak.as_str())]).await;
        assert_eq!(status, Status::Fail, "{weak}: {why}");
    }
}

#[tokio::test]
async fn a_secret_under_eight_characters_is_refused() {
    assert_eq!(
        judge(&rule("names = [\"SECRET\"]"), &[("SECRET", "Xq7#pz")]).await,
        (
            Status::Fail,
            "SECRET is a secret of under 8 characters: too short to keep out of outputs or to resist guessing".into()
        )
    );
    // A non-secret input of that length is no concern of this rule.
    assert_eq!(
        judge(&rule("names = [\"MODE\"]"), &[("MODE", "fast")])
            .await
            .0,
        Status::Pass
    );
}

/// Only declared secrets are fingerprinted: another input's value is shown, with where it
/// came from, and a password inside it masked.
#[tokio::test]
async fn values_of_inputs_not_declared_secret_are_shown_with_their_source() {
    let text = format!("{HEADER}{INPUTS}\n[[item]]\nid = \"e\"\nsection = \"Checks\"\ntitle = \"t\"\nkind = \"env\"\nhelp = \"h\"\n{}{}{}", rule("names = [\"MODE\"]"), rule("names = [\"URL\"]"), rule("names = [\"SECRET\"]"));
    let run = run_checklist(
        &text,
        &[
            ("MODE", "eu-west-1"),
            (
                "URL",
                "https://ops:Hunter2-long-pass@status.example.com/?password=Zz9-also",
            ),
            ("SECRET", STRONG),
        ],
        8,
        CancellationToken::new(),
    )
    .await;
    let evidence = &run.results["e"].evidence;
    let variables = &evidence["variables"];
    assert_eq!(variables["MODE"]["value"], "eu-west-1", "{evidence}");
    assert_eq!(variables["MODE"]["source"], "process environment");
    assert!(variables["MODE"].get("fingerprint").is_none(), "{evidence}");
    assert_eq!(
        variables["URL"]["value"],
        "https://ops:***@status.example.com/?password=***"
    );
    assert!(variables["SECRET"]["value"].is_null(), "{evidence}");
    assert_eq!(
        variables["SECRET"]["fingerprint"].as_str().map(str::len),
        Some(8)
    );
    let text = evidence.to_string();
    for leaked in ["Hunter2", "Zz9-also", &STRONG[..12]] {
        assert!(!text.contains(leaked), "{leaked} in {text}");
    }
}
