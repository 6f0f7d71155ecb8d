//! Files read with a cap on the bytes actually read: a path that names a device
//! (`/dev/zero`), a pipe or a huge file ends in a clear error, never in memory exhaustion.

use std::io::Read;
use std::path::Path;

/// The most an env file, a checklist, a CA bundle, an allowed_signers file or a report may
/// hold: far beyond any real one.
pub const CAP: u64 = 16 * 1024 * 1024;

/// The bytes of `path`, or an error when it cannot be read or holds more than `cap`.
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "it holds more than {cap} bytes, more than any such file holds"
        )));
    }
    Ok(bytes)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_text_capped(path: &Path, cap: u64) -> std::io::Result<String> {
    String::from_utf8(read_capped(path, cap)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_cap() {
        let err = read_capped(Path::new("/dev/zero"), 1024).expect_err("refused");
        assert!(
            err.to_string().starts_with("it holds more than 1024 bytes"),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("small");
        std::fs::write(&path, "A=1\n").expect("writes");
        assert_eq!(read_text_capped(&path, 1024).expect("reads"), "A=1\n");
    }
}
