//! The store: sessions, results and sign-offs in an append-only, hash-chained event log (SQLite or PostgreSQL), with a live change feed.
