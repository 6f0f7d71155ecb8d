//! The output lines of runs, kept beside the event log up to a cap per run: the last
//! [`OUTPUT_CAP`] lines, numbered so that every view shows exactly what is kept.

use sqlx::Row;

use super::{Store, StoreError, OUTPUT_CAP, OUTPUT_ROWS_PER_INSERT};

impl Store {
    /// Adds output lines of a run (numbered from `first`), keeping the last [`OUTPUT_CAP`].
    pub async fn add_output(
        &self,
        session: &str,
        run_id: &str,
        first: u64,
        lines: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db(e))?;
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
                    .bind(line.replace('\0', "\u{fffd}"));
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
