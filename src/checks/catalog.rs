//! A snapshot of a database's catalog (every object outside the system schemas, with what
//! defines it) and the difference between two snapshots in words, for the idempotency
//! proof of a migration.

use std::collections::BTreeMap;

use sqlx::postgres::PgConnection;

/// Object → what defines it. Names are schema-qualified outside `public`.
pub type Snapshot = BTreeMap<String, String>;

/// Each row: an object's kind and name, and its definition.
const SNAPSHOT: &str = r#"
WITH ns AS (
  SELECT oid, nspname, CASE WHEN nspname = 'public' THEN '' ELSE nspname || '.' END AS q
  FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema')
    AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp\_%'
)
SELECT 'schema ' || n.nspname, 'owner ' || pg_get_userbyid(n.nspowner)
FROM pg_namespace n JOIN ns USING (oid)
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
         WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table ' ELSE 'table ' END
       || ns.q || c.relname,
       'owner ' || pg_get_userbyid(c.relowner)
       || CASE WHEN c.relrowsecurity THEN ', row security' ELSE '' END
       || CASE WHEN c.relkind IN ('v', 'm') THEN ', ' || md5(pg_get_viewdef(c.oid)) ELSE '' END
       || coalesce(', ' || format_type(s.seqtypid, NULL) || ' start ' || s.seqstart
                   || ' increment ' || s.seqincrement || ' min ' || s.seqmin
                   || ' max ' || s.seqmax || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END, '')
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'column ' || ns.q || c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL
SELECT 'index ' || ns.q || c.relname, pg_get_indexdef(c.oid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT 'constraint ' || ns.q || coalesce(t.relname || '.', '') || co.conname,
       pg_get_constraintdef(co.oid)
FROM pg_constraint co JOIN ns ON ns.oid = co.connamespace
LEFT JOIN pg_class t ON t.oid = co.conrelid
UNION ALL
SELECT 'function ' || ns.q || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       'owner ' || pg_get_userbyid(p.proowner) || ', '
       || md5(coalesce(p.prosrc, '') || coalesce(pg_get_function_result(p.oid), '')
              || p.provolatile::text || p.prosecdef::text || coalesce(p.proconfig::text, ''))
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
UNION ALL
SELECT 'trigger ' || ns.q || c.relname || '.' || tg.tgname, pg_get_triggerdef(tg.oid)
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace
WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'policy ' || ns.q || c.relname || '.' || po.polname,
       coalesce(pg_get_expr(po.polqual, po.polrelid), '') || ' / '
       || coalesce(pg_get_expr(po.polwithcheck, po.polrelid), '')
FROM pg_policy po JOIN pg_class c ON c.oid = po.polrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT 'type ' || ns.q || t.typname,
       CASE t.typtype WHEN 'e' THEN 'enum ' || coalesce((SELECT string_agg(enumlabel, ', ' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid), '')
         ELSE 'domain ' || format_type(t.typbasetype, t.typtypmod) END
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd')
UNION ALL
SELECT 'extension ' || e.extname, e.extversion || ' in ' || e.extnamespace::regnamespace::text
FROM pg_extension e
UNION ALL
SELECT 'grant on ' || ns.q || c.relname || ' to '
       || CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
       string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type)
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace, aclexplode(c.relacl) acl
GROUP BY 1
UNION ALL
SELECT 'grant on schema ' || n.nspname || ' to '
       || CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(acl.grantee) END,
       string_agg(acl.privilege_type, ', ' ORDER BY acl.privilege_type)
FROM pg_namespace n JOIN ns USING (oid), aclexplode(n.nspacl) acl
GROUP BY 1
"#;

/// The catalog as the connection sees it (inside its transaction).
pub async fn snapshot(conn: &mut PgConnection) -> Result<Snapshot, sqlx::Error> {
    let rows: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as(SNAPSHOT).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, definition)| Some((name?, definition.unwrap_or_default())))
        .collect())
}

/// Tables larger than this (by the planner's estimate) are not read for the data proof.
const LARGEST_COMPARED: i64 = 100_000;

/// The rows of `tables` (names as a migration writes them), for the data part of the
/// proof: each table's row count and a digest of its rows, or why it is not compared.
pub async fn data(conn: &mut PgConnection, tables: &[String]) -> Result<Snapshot, sqlx::Error> {
    let mut rows = Snapshot::new();
    for table in tables {
        let key = format!("rows of {table}");
        let estimate: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT reltuples::int8 FROM pg_class WHERE oid = to_regclass($1)")
                .bind(table)
                .fetch_optional(&mut *conn)
                .await?;
        match estimate {
            None | Some((None,)) => {
                rows.insert(key, "absent".into());
            }
            Some((Some(n),)) if n > LARGEST_COMPARED => {
                rows.insert(key, format!("not compared (about {n} rows)"));
            }
            Some(_) => {
                let (count, digest): (i64, String) = sqlx::query_as(&format!(
                    "SELECT count(*)::int8, coalesce(md5(string_agg(md5(t::text), ',' ORDER BY md5(t::text))), '')
                     FROM {table} AS t"
                ))
                .fetch_one(&mut *conn)
                .await?;
                let plural = if count == 1 { "" } else { "s" };
                rows.insert(
                    key,
                    format!(
                        "{count} row{plural}, content {}",
                        &digest[..digest.len().min(8)]
                    ),
                );
            }
        }
    }
    Ok(rows)
}

/// What changed from `before` to `after`, one line per object ("index x added").
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut changes = Vec::new();
    for (name, definition) in after {
        match before.get(name) {
            None => changes.push(format!("{name} added")),
            Some(old) if old != definition => {
                changes.push(format!("{name} changed: {old} → {definition}"))
            }
            Some(_) => {}
        }
    }
    for name in before.keys().filter(|n| !after.contains_key(*n)) {
        changes.push(format!("{name} removed"));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_said_per_object() {
        let before: Snapshot = [
            ("table users".to_string(), "owner app".to_string()),
            ("index users_pkey".into(), "CREATE UNIQUE INDEX …".into()),
            ("grant on users to web".into(), "SELECT".into()),
        ]
        .into();
        let mut after = before.clone();
        after.insert("index sessions_x_idx1".into(), "CREATE INDEX …".into());
        after.insert("grant on users to web".into(), "INSERT, SELECT".into());
        after.remove("index users_pkey");
        assert_eq!(
            diff(&before, &after),
            vec![
                "grant on users to web changed: SELECT → INSERT, SELECT",
                "index sessions_x_idx1 added",
                "index users_pkey removed",
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }
}
