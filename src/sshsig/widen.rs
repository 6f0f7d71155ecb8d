//! ECDSA key files whose private scalar `ssh-keygen` wrote shorter than its curve's width.
//!
//! OpenSSH writes the scalar as an mpint, which drops leading zero bytes: about one P-256 or
//! P-384 key in 256 has a scalar a byte short, and about half of all P-521 keys (whose top
//! byte holds one bit). ssh-key 0.6 reads a scalar only at its full width (RustCrypto/SSH#350,
//! fixed in 0.7): it calls such a file not a key, or such an encrypted file's passphrase
//! wrong. Here the key is written again, unencrypted and in memory only, with the scalar
//! padded to its width, which ssh-key reads.

use base64::Engine;
use secrecy::zeroize::Zeroizing;
use ssh_key::PrivateKey;

const MAGIC: &[u8] = b"openssh-key-v1\0";

/// The OpenSSH ECDSA private key file `text` (decrypted with `passphrase` when it is
/// encrypted), its private scalar padded to the curve's width; none when it is anything
/// else, the passphrase does not decrypt it, or its scalar is full width already.
pub(super) fn widened(text: &str, passphrase: Option<&[u8]>) -> Option<PrivateKey> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let mut file = Reader(bytes.strip_prefix(MAGIC)?);
    let cipher = file.string()?;
    let (_kdf, _kdf_options) = (file.string()?, file.string()?);
    let count = file.u32()?;
    let (public, private) = (file.string()?, file.string()?);
    if count != 1 || !file.0.is_empty() {
        return None;
    }
    let section = match (cipher, passphrase) {
        (b"none", _) => Zeroizing::new(private.to_vec()),
        (_, Some(passphrase)) => {
            let key = PrivateKey::from_openssh(text).ok()?;
            let (secret, iv) = key.kdf().derive_key_and_iv(key.cipher(), passphrase).ok()?;
            let mut plain = Zeroizing::new(private.to_vec());
            key.cipher().decrypt(&secret, &iv, &mut plain, None).ok()?;
            plain
        }
        _ => return None,
    };
    let mut section = Reader(&section);
    let (check1, check2) = (section.u32()?, section.u32()?);
    let kind = section.string()?;
    let width = match kind {
        b"ecdsa-sha2-nistp256" => 32,
        b"ecdsa-sha2-nistp384" => 48,
        b"ecdsa-sha2-nistp521" => 66,
        _ => return None,
    };
    let (curve, point, scalar, comment) = (
        section.string()?,
        section.string()?,
        section.string()?,
        section.string()?,
    );
    // Unequal check numbers: a wrong passphrase.
    if check1 != check2 || scalar.is_empty() || scalar.len() >= width {
        return None;
    }
    // Every buffer that holds the key is made at its full size first: one that grew would
    // leave copies of it behind, unwiped.
    let mut padded = Zeroizing::new(Vec::with_capacity(width));
    padded.resize(width - scalar.len(), 0);
    padded.extend_from_slice(scalar);
    let mut rewritten = Zeroizing::new(Vec::with_capacity(private.len() + width + 8));
    put_u32(&mut rewritten, check1);
    put_u32(&mut rewritten, check2);
    for field in [kind, curve, point, &padded, comment] {
        put_string(&mut rewritten, field);
    }
    // Padded to the block of no cipher (8) with 1, 2, 3…, as OpenSSH pads it.
    let padding = (8 - rewritten.len() % 8) % 8;
    rewritten.extend(1..=padding as u8);
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len() + width + 8));
    out.extend_from_slice(MAGIC);
    for field in [&b"none"[..], b"none", b""] {
        put_string(&mut out, field);
    }
    put_u32(&mut out, count);
    put_string(&mut out, public);
    put_string(&mut out, &rewritten);
    let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*out));
    let mut pem = Zeroizing::new(String::with_capacity(encoded.len() * 72 / 70 + 80));
    pem.push_str("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for line in encoded.as_bytes().chunks(70) {
        pem.push_str(std::str::from_utf8(line).ok()?);
        pem.push('\n');
    }
    pem.push_str("-----END OPENSSH PRIVATE KEY-----\n");
    PrivateKey::from_openssh(&*pem).ok()
}

/// Reads the SSH wire format: big-endian u32s and length-prefixed strings.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        let (field, rest) = (self.0.get(..len)?, self.0.get(len..)?);
        self.0 = rest;
        Some(field)
    }
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_string(out: &mut Vec<u8>, field: &[u8]) {
    put_u32(out, field.len() as u32);
    out.extend_from_slice(field);
}
