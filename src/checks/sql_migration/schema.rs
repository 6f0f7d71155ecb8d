//! What the schema must hold after a migration: the expected tables and columns, of the
//! types written (read the way PostgreSQL prints them), and the stricter constraints the
//! checklist suggests as advice.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;

use super::Config;
use crate::checks::pg;

/// Type names as PostgreSQL prints them (`format_type`), for the short names people write:
/// `varchar(255)` is `character varying(255)`, `timestamptz(3)` is
/// `timestamp(3) with time zone`, `int[]` is `integer[]`.
fn canonical_type(name: &str) -> String {
    let lower = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let (lower, array) = match lower.strip_suffix("[]") {
        Some(element) => (element.trim_end().to_string(), "[]"),
        None => (lower, ""),
    };
    let (base, args) = match lower.split_once('(') {
        Some((base, rest)) => {
            let (args, after) = rest.split_once(')').unwrap_or((rest, ""));
            let base = format!("{} {}", base.trim(), after.trim());
            (
                base.trim().to_string(),
                format!("({})", args.replace(' ', "")),
            )
        }
        None => (lower.clone(), String::new()),
    };
    let (head, zone) = match base.as_str() {
        "timestamptz" | "timestamp with time zone" => ("timestamp", " with time zone"),
        "timestamp" | "timestamp without time zone" => ("timestamp", " without time zone"),
        "timetz" | "time with time zone" => ("time", " with time zone"),
        "time" | "time without time zone" => ("time", " without time zone"),
        _ => ("", ""),
    };
    if !head.is_empty() {
        return format!("{head}{args}{zone}{array}");
    }
    let base = match base.as_str() {
        "int" | "int4" | "serial" | "serial4" => "integer",
        "int8" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallserial" | "serial2" => "smallint",
        "varchar" => "character varying",
        "char" | "bpchar" => "character",
        "bool" => "boolean",
        "float8" | "float" => "double precision",
        "float4" => "real",
        "decimal" => "numeric",
        other => other,
    };
    format!("{base}{args}{array}")
}

/// Each expected table and column that is missing or of another type.
/// The expected tables the database has, as `schema.name` (the schema shown only when it is
/// not `public`): read before the file runs, so that what the file made is not taken for
/// what the database already had.
pub(super) async fn existing_tables(
    config: &Config,
    conn: &mut PgConnection,
) -> Result<Vec<String>, sqlx::Error> {
    let default_schema = config.schema.as_deref().unwrap_or("public");
    let mut found = Vec::new();
    for table in &config.expect_tables {
        let schema = table.schema.as_deref().unwrap_or(default_schema);
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))",
        )
        .bind(schema)
        .bind(&table.name)
        .fetch_one(&mut *conn)
        .await?;
        if exists {
            found.push(match schema {
                "public" => table.name.clone(),
                _ => format!("{schema}.{}", table.name),
            });
        }
    }
    Ok(found)
}

pub(super) async fn expected_tables(
    config: &Config,
    conn: &mut PgConnection,
) -> Result<Vec<String>, sqlx::Error> {
    let default_schema = config.schema.as_deref().unwrap_or("public");
    let mut failures = Vec::new();
    for table in &config.expect_tables {
        let schema = table.schema.as_deref().unwrap_or(default_schema);
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(schema)
        .bind(&table.name)
        .fetch_all(&mut *conn)
        .await?;
        let shown = match schema {
            "public" => table.name.clone(),
            _ => format!("{schema}.{}", table.name),
        };
        if columns.is_empty() {
            let near: Option<(String,)> = sqlx::query_as(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND lower(c.relname) = lower($2) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                 LIMIT 1",
            )
            .bind(schema)
            .bind(&table.name)
            .fetch_optional(&mut *conn)
            .await?;
            let hint = near
                .map(|(name,)| format!(" (found {name}: names are case-sensitive)"))
                .unwrap_or_default();
            failures.push(format!("table {shown} is missing{hint}"));
            continue;
        }
        let found: HashMap<&str, &str> = columns
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        for (column, expected) in &table.columns {
            match found.get(column.as_str()) {
                None => {
                    let folded = column.to_lowercase();
                    let near = found.keys().find(|k| k.to_lowercase() == folded);
                    let hint = match near {
                        Some(&k) if k == folded => format!(" (found {folded}: it was created without quotes, so PostgreSQL folded it to lower case; write \"{column}\")"),
                        Some(k) => format!(" (found \"{k}\": names are case-sensitive)"),
                        None => String::new(),
                    };
                    failures.push(format!("column {shown}.\"{column}\" is missing{hint}"));
                }
                // `a | b`: any of these types (ids may be integer, bigint, uuid or text).
                Some(actual)
                    if !expected
                        .split('|')
                        .any(|e| canonical_type(actual) == canonical_type(e.trim())) =>
                {
                    failures.push(format!(
                        "column {shown}.\"{column}\" is {actual}, expected {expected}"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(failures)
}

/// The stricter constraints the checklist suggests that the schema lacks: advice, never a
/// failure.
pub(super) async fn suggestions(
    config: &Config,
    conn: &mut PgConnection,
) -> Result<Vec<String>, sqlx::Error> {
    let schema = config.schema.as_deref().unwrap_or("public");
    let mut advice = Vec::new();
    for suggestion in &config.suggest {
        let note = suggestion
            .note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        if let Some(columns) = &suggestion.unique {
            let (present,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (
                   SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique
                     AND i.indpred IS NULL
                     AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
                          FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey))
                         = (SELECT array_agg(x ORDER BY x) FROM unnest($3::text[]) x))",
            )
            .bind(schema)
            .bind(&suggestion.table)
            .bind(columns)
            .fetch_one(&mut *conn)
            .await?;
            if !present {
                let quoted: Vec<String> = columns.iter().map(|c| pg::quote_ident(c)).collect();
                advice.push(format!(
                    "{}: no UNIQUE ({}){note}",
                    suggestion.table,
                    quoted.join(", ")
                ));
            }
        }
        if let (Some(column), Some(references)) = (&suggestion.foreign_key, &suggestion.references)
        {
            let (present,): (bool,) = sqlx::query_as(
                "SELECT EXISTS (
                   SELECT 1 FROM pg_constraint co
                   JOIN pg_class c ON c.oid = co.conrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_class r ON r.oid = co.confrelid
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(co.conkey)
                   WHERE co.contype = 'f' AND n.nspname = $1 AND c.relname = $2
                     AND r.relname = $3 AND a.attname = $4)",
            )
            .bind(schema)
            .bind(&suggestion.table)
            .bind(references)
            .bind(column)
            .fetch_one(&mut *conn)
            .await?;
            if !present {
                advice.push(format!(
                    "{}: no FOREIGN KEY ({}) REFERENCES {references}{note}",
                    suggestion.table,
                    pg::quote_ident(column)
                ));
            }
        }
    }
    Ok(advice)
}

#[cfg(test)]
mod tests {
    use super::canonical_type;

    #[test]
    fn short_type_names_read_as_postgresql_prints_them() {
        for (written, printed) in [
            ("varchar(255)", "character varying(255)"),
            ("VARCHAR( 255 )", "character varying(255)"),
            ("timestamptz", "timestamp with time zone"),
            ("timestamptz(3)", "timestamp(3) with time zone"),
            ("timestamp(3) with time zone", "timestamp(3) with time zone"),
            ("int[]", "integer[]"),
            ("serial", "integer"),
            ("time", "time without time zone"),
            ("text", "text"),
        ] {
            assert_eq!(
                canonical_type(written),
                canonical_type(printed),
                "{written}"
            );
            assert_eq!(canonical_type(printed), printed, "{printed}");
        }
    }
}
