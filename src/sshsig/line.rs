//! One line of an allowed_signers file, read the way `ssh-keygen` reads it (sshsig.c and
//! misc.c of OpenSSH): principals (a word, or a double-quoted run that may hold spaces),
//! then options if the next word is not a key, then the key type and its base64, then an
//! optional comment. Where OpenSSH skips a malformed line with a warning, relcon refuses
//! the file: a typo in a list of trusted keys should be fixed, not silently ignored.

use ssh_key::public::KeyData;
use ssh_key::PublicKey;

/// What one key line says.
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// The principal patterns, comma-separated, as written.
    pub principals: String,
    /// The key.
    pub key: KeyData,
    /// The namespace patterns, comma-separated, if the line restricts them.
    pub namespaces: Option<String>,
    /// Seconds since the Unix epoch before which the key is not valid.
    pub valid_after: Option<i64>,
    /// Seconds since the Unix epoch after which the key is not valid.
    pub valid_before: Option<i64>,
}

/// OpenSSH's whitespace between words of a line.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Reads one line: `None` for a blank or comment line, or why the line is refused.
pub(super) fn parse(text: &str) -> Result<Option<Line>, String> {
    let text = text.trim_start_matches(is_space);
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    let (principals, rest) = first_word(text)?;
    let (options, rest) = if looks_like_options(rest) {
        let (options, rest) = options_word(rest)?;
        (parse_options(options)?, rest)
    } else {
        (Options::default(), rest)
    };
    let key = parse_key(rest).map_err(|why| {
        // A line that is only a key forgot its principals: say so rather than "bad key".
        if parse_key(text).is_ok() {
            "the line starts with a key: the principals (such as alice@example.com) come first"
                .to_string()
        } else {
            why
        }
    })?;
    Ok(Some(Line {
        principals,
        key,
        namespaces: options.namespaces,
        valid_after: options.valid_after,
        valid_before: options.valid_before,
    }))
}

/// The first word and the text after the spaces that follow it. As in OpenSSH's
/// `strdelimw`, a double quote starts a run that spaces do not end, and the quotes are
/// dropped: `"alice, bob"` is the one word `alice, bob`.
fn first_word(text: &str) -> Result<(String, &str), String> {
    match text.find(|c: char| is_space(c) || c == '"') {
        None => Ok((text.to_string(), "")),
        Some(at) if text[at..].starts_with('"') => {
            let quoted = &text[at + 1..];
            let close = quoted
                .find('"')
                .ok_or("the principals' opening double quote is never closed")?;
            let word = format!("{}{}", &text[..at], &quoted[..close]);
            Ok((word, quoted[close + 1..].trim_start_matches(is_space)))
        }
        Some(at) => Ok((
            text[..at].to_string(),
            text[at..].trim_start_matches(is_space),
        )),
    }
}

/// Whether the word after the principals is options rather than a key type: key types never
/// hold `=`, and `cert-authority` is the one option without a value.
fn looks_like_options(rest: &str) -> bool {
    let word = rest.split(is_space).next().unwrap_or_default();
    word.contains('=') || starts_with_ignore_case(word, "cert-authority")
}

/// The options word (up to a space outside double quotes, `\"` escaping a quote) and the
/// text after it, as OpenSSH's `sshkey_advance_past_options` finds its end.
fn options_word(rest: &str) -> Result<(&str, &str), String> {
    let mut quoted = false;
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' if rest[at + 1..].starts_with('"') => {
                chars.next();
            }
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                return Ok((&rest[..at], rest[at..].trim_start_matches(is_space)));
            }
            _ => {}
        }
    }
    if quoted {
        return Err("a double quote in the options is never closed".into());
    }
    Ok((rest, ""))
}

/// The options of a line.
#[derive(Debug, Default)]
struct Options {
    namespaces: Option<String>,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
}

/// Reads `name="value"` options separated by commas; names are case-insensitive.
fn parse_options(mut text: &str) -> Result<Options, String> {
    let mut options = Options::default();
    loop {
        if starts_with_ignore_case(text, "cert-authority") {
            return Err("cert-authority is not supported: relcon checks signatures made by plain keys, not certificates; list each signer's own key instead".into());
        } else if let Some(after) = strip_prefix_ignore_case(text, "namespaces=") {
            let (value, after) = dequote(after, "namespaces")?;
            if options.namespaces.replace(value).is_some() {
                return Err("namespaces is given twice".into());
            }
            text = after;
        } else if let Some(after) = strip_prefix_ignore_case(text, "valid-after=") {
            let (value, after) = dequote(after, "valid-after")?;
            let time = parse_time(&value).map_err(|why| format!("valid-after: {why}"))?;
            if options.valid_after.replace(time).is_some() {
                return Err("valid-after is given twice".into());
            }
            text = after;
        } else if let Some(after) = strip_prefix_ignore_case(text, "valid-before=") {
            let (value, after) = dequote(after, "valid-before")?;
            let time = parse_time(&value).map_err(|why| format!("valid-before: {why}"))?;
            if options.valid_before.replace(time).is_some() {
                return Err("valid-before is given twice".into());
            }
            text = after;
        } else {
            let name = text.split([',', '=']).next().unwrap_or_default();
            return Err(format!(
                "unknown option {name:?}: allowed are namespaces=\"…\", valid-after=\"…\" and valid-before=\"…\""
            ));
        }
        if text.is_empty() {
            break;
        }
        text = text
            .strip_prefix(',')
            .ok_or_else(|| format!("options are separated by commas, found {text:?}"))?;
        if text.is_empty() {
            return Err("the options end with a comma".into());
        }
    }
    if let (Some(after), Some(before)) = (options.valid_after, options.valid_before) {
        if before <= after {
            return Err("valid-before is not later than valid-after".into());
        }
    }
    Ok(options)
}

/// A double-quoted option value (`\"` stands for a quote) and the text after it.
fn dequote<'a>(text: &'a str, name: &str) -> Result<(String, &'a str), String> {
    let inner = text
        .strip_prefix('"')
        .ok_or_else(|| format!("the value of {name} must be in double quotes"))?;
    let mut value = String::new();
    let mut chars = inner.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' if inner[at + 1..].starts_with('"') => {
                chars.next();
                value.push('"');
            }
            '"' => return Ok((value, &inner[at + 1..])),
            _ => value.push(c),
        }
    }
    Err(format!("the value of {name} has no closing double quote"))
}

/// Reads `YYYYMMDD[HHMM[SS]]`, optionally followed by `Z` or `UTC` (any case), into seconds
/// since the Unix epoch. Without the suffix the time is local, read exactly as `ssh-keygen`
/// reads it: C's `mktime` with daylight saving time off, so in summer a local time means the
/// zone's standard time (an hour later than the wall clock shows). Use `Z` for exact times.
fn parse_time(text: &str) -> Result<i64, String> {
    let expected = || {
        format!(
            "{text:?} is not a time: expected YYYYMMDD[HHMM[SS]], optionally followed by Z for UTC"
        )
    };
    let (digits, utc) = if text.len() > 1 && ends_with_ignore_case(text, "z") {
        (&text[..text.len() - 1], true)
    } else if text.len() > 3 && ends_with_ignore_case(text, "utc") {
        (&text[..text.len() - 3], true)
    } else {
        (text, false)
    };
    if !matches!(digits.len(), 8 | 12 | 14) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(expected());
    }
    let field = |from: usize| -> u16 {
        digits
            .get(from..from + 2)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    };
    let year: i32 = digits[..4].parse().map_err(|_| expected())?;
    let (month, day) = (field(4), field(6));
    let (hour, minute, second) = (field(8), field(10), field(12));
    let date = time::Month::try_from(month as u8)
        .ok()
        .and_then(|month| time::Date::from_calendar_date(year, month, day as u8).ok())
        .ok_or_else(|| format!("{text:?} is not a date of the calendar"))?;
    let clock = time::Time::from_hms(hour as u8, minute as u8, second as u8)
        .map_err(|_| format!("{text:?} is not a time of day"))?;
    let seconds = if utc {
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp()
    } else {
        local_seconds(date, clock).ok_or_else(expected)?
    };
    // OpenSSH takes 0 to mean "no limit" and refuses times before 1970.
    if seconds <= 0 {
        return Err(format!("{text:?} is not after 1970-01-01"));
    }
    Ok(seconds)
}

/// A local date and time in seconds since the Unix epoch, as C's `mktime` reads it with
/// `tm_isdst = 0` (what `ssh-keygen` does), in the zone of `TZ` or `/etc/localtime`.
fn local_seconds(date: time::Date, clock: time::Time) -> Option<i64> {
    // SAFETY: `libc::tm` is plain data for which all zero bytes is a valid value (a null
    // `tm_zone` included); mktime only reads and normalises the struct it is given and the
    // process's time zone, which glibc guards with its own lock.
    let seconds = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = date.year() - 1900;
        tm.tm_mon = i32::from(u8::from(date.month())) - 1;
        tm.tm_mday = i32::from(date.day());
        tm.tm_hour = i32::from(clock.hour());
        tm.tm_min = i32::from(clock.minute());
        tm.tm_sec = i32::from(clock.second());
        tm.tm_isdst = 0;
        libc::mktime(&mut tm)
    };
    (seconds >= 0).then_some(seconds)
}

/// The key type and base64 of a line (what follows them is a comment).
fn parse_key(text: &str) -> Result<KeyData, String> {
    let mut words = text.split(is_space).filter(|w| !w.is_empty());
    let (Some(kind), Some(base64)) = (words.next(), words.next()) else {
        return Err(
            "missing key: expected a key type and its base64 after the principals (and options)"
                .into(),
        );
    };
    if kind.contains("-cert-") {
        return Err(format!(
            "{kind} is a certificate: relcon checks signatures made by plain keys only"
        ));
    }
    let key = PublicKey::from_openssh(&format!("{kind} {base64}"))
        .map_err(|why| format!("{kind} {base64:.12}… is not a public key: {why}"))?;
    Ok(key.key_data().clone())
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    strip_prefix_ignore_case(text, prefix).is_some()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text
            .get(text.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    fn line(text: &str) -> Line {
        parse(text).expect("valid").expect("a key line")
    }

    fn refused(text: &str) -> String {
        parse(text).expect_err("refused")
    }

    #[test]
    fn blank_and_comment_lines_hold_nothing() {
        for text in ["", "   ", "\t", "# a comment", "   # indented comment"] {
            assert!(parse(text).expect("fine").is_none(), "{text:?}");
        }
    }

    #[test]
    fn principals_key_and_comment() {
        let read = line(&format!("alice@example.com,bob {KEY} alice's laptop"));
        assert_eq!(read.principals, "alice@example.com,bob");
        assert!(read.namespaces.is_none() && read.valid_after.is_none());
        assert_eq!(
            read.key,
            PublicKey::from_openssh(KEY)
                .expect("key")
                .key_data()
                .clone()
        );
    }

    #[test]
    fn quoted_principals_may_hold_spaces() {
        assert_eq!(
            line(&format!("\"alice, bob\" {KEY}")).principals,
            "alice, bob"
        );
        assert_eq!(line(&format!("\"a b\"  \t{KEY}")).principals, "a b");
        assert!(refused(&format!("\"alice {KEY}")).contains("never closed"));
    }

    #[test]
    fn options_are_case_insensitive_and_quoted() {
        let read = line(&format!(
            "a NAMESPACES=\"relcon-*,git\",Valid-After=\"20200101Z\",valid-before=\"20300101120000UTC\" {KEY}"
        ));
        assert_eq!(read.namespaces.as_deref(), Some("relcon-*,git"));
        assert_eq!(read.valid_after, Some(1_577_836_800));
        assert_eq!(read.valid_before, Some(1_893_499_200));
    }

    #[test]
    fn quoted_option_values_may_hold_spaces_and_escaped_quotes() {
        let read = line(&format!("a namespaces=\"x y,\\\"q\\\"\" {KEY}"));
        assert_eq!(read.namespaces.as_deref(), Some("x y,\"q\""));
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        let cases = [
            ("a cert-authority", "cert-authority is not supported"),
            (
                "a CERT-AUTHORITY,namespaces=\"x\"",
                "cert-authority is not supported",
            ),
            ("a namespaces=x", "must be in double quotes"),
            ("a namespaces=\"x", "never closed"),
            ("a colour=\"red\"", "unknown option \"colour\""),
            ("a namespaces=\"x\",namespaces=\"y\"", "given twice"),
            ("a namespaces=\"x\",", "end with a comma"),
            ("a valid-after=\"2020\"", "expected YYYYMMDD"),
            ("a valid-after=\"20201301\"", "not a date"),
            ("a valid-after=\"202001012460\"", "not a time of day"),
            ("a valid-after=\"19700101Z\"", "not after 1970"),
            (
                "a valid-after=\"20300101Z\",valid-before=\"20200101Z\"",
                "not later than valid-after",
            ),
        ];
        for (options, expected) in cases {
            let why = refused(&format!("{options} {KEY}"));
            assert!(why.contains(expected), "{options}: {why}");
        }
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        assert!(refused("alice").contains("missing key"));
        assert!(refused("alice ssh-ed25519").contains("missing key"));
        assert!(refused("alice ssh-ed25519 AAAAnotbase64!").contains("not a public key"));
        assert!(refused(&format!("{KEY} comment")).contains("principals"));
        assert!(refused("a ssh-ed25519-cert-v01@openssh.com AAAA").contains("certificate"));
    }

    #[test]
    fn times_in_utc_take_every_precision() {
        assert_eq!(parse_time("20240229Z"), Ok(1_709_164_800));
        assert_eq!(parse_time("202402291230z"), Ok(1_709_209_800));
        assert_eq!(parse_time("20240229123045UTC"), Ok(1_709_209_845));
        assert!(parse_time("20230229Z").is_err(), "no 29 February in 2023");
        assert!(parse_time("2024022912Z").is_err(), "hours without minutes");
    }
}
