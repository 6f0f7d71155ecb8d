//! The output lines of runs, kept beside the event log up to a cap per run: the last
//! [`OUTPUT_CAP`] lines, numbered so that every view shows exactly what is kept.

use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};

use super::{Store, StoreError, OUTPUT_CAP, OUTPUT_ROWS_PER_INSERT};

/// A line as the store keeps it: PostgreSQL text cannot hold NUL, so neither store does.
fn kept(line: &str) -> std::borrow::Cow<'_, str> {
    if line.contains('\0') {
        line.replace('\0', "\u{fffd}").into()
    } else {
        line.into()
    }
}

/// The hash of one output line as kept: its stream and its text.
pub fn line_hash(stream: &str, line: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(stream.as_bytes());
    hasher.update([0]);
    hasher.update(kept(line).as_bytes());
    hasher.finalize().into()
}

/// The digest of a run's kept lines, from their [`line_hash`]es in order: hex SHA-256 of
/// their concatenation (so a run can keep it up to date while it drops its oldest lines).
pub fn digest<'h>(hashes: impl IntoIterator<Item = &'h [u8; 32]>) -> String {
    let mut hasher = Sha256::new();
    for hash in hashes {
        hasher.update(hash);
    }
    hex::encode(hasher.finalize())
}

impl Store {
    /// Adds output lines of a run (numbered from `first`), keeping the last [`OUTPUT_CAP`].
    pub async fn add_output(
        &self,
        session: &str,
        run_id: &str,
        first: u64,
        lines: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut turn = self.turn().await;
        let mut tx = self
            .writer(&mut turn)
            .await?
            .begin()
            .await
            .map_err(|e| self.db(e))?;
        // Many rows per statement: one round trip per chunk, not per line.
        for (c, chunk) in lines.chunks(OUTPUT_ROWS_PER_INSERT).enumerate() {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p = 5 * r;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5
                    )
                })
                .collect();
            let statement = format!(
                "INSERT INTO output (session_id, run_id, n, stream, line) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&statement);
            for (r, (stream, line)) in chunk.iter().enumerate() {
                let n = first + (c * OUTPUT_ROWS_PER_INSERT + r) as u64;
                // PostgreSQL text cannot hold NUL; the line is shown without it either way.
                query = query
                    .bind(session)
                    .bind(run_id)
                    .bind(n as i64)
                    .bind(stream.as_str())
                    .bind(kept(line).into_owned());
            }
            query.execute(&mut *tx).await.map_err(|e| self.db(e))?;
        }
        let last = first + lines.len() as u64;
        if last > OUTPUT_CAP {
            sqlx::query("DELETE FROM output WHERE session_id = $1 AND run_id = $2 AND n < $3")
                .bind(session)
                .bind(run_id)
                .bind((last - OUTPUT_CAP) as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db(e))?;
        }
        tx.commit().await.map_err(|e| self.db(e))
    }

    /// The kept output lines of `run_id`, a run of `item`, checked against the digest its
    /// result recorded in the chain (when the item's latest result is that run's).
    pub async fn output_checked(
        &self,
        session: &str,
        item: &str,
        run_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let lines = self.output(session, run_id).await?;
        let recorded = self
            .result_since(session, item, 0)
            .await?
            .and_then(|outcome| outcome.output)
            .filter(|output| output.run_id == run_id)
            .and_then(|output| output.digest.sha256);
        if let Some(recorded) = recorded {
            let hashes: Vec<[u8; 32]> = lines.iter().map(|(s, l)| line_hash(s, l)).collect();
            if digest(&hashes) != recorded {
                return Err(StoreError::OutputChanged {
                    run: run_id.to_string(),
                });
            }
        }
        Ok(lines)
    }

    /// The kept output lines of a run: (stream, line), oldest first.
    pub async fn output(
        &self,
        session: &str,
        run_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT stream, line FROM output WHERE session_id = $1 AND run_id = $2 ORDER BY n",
        )
        .bind(session)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db(e))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
