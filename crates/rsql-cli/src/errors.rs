//! What the CLI reports when something fails, and with which exit code.
//!
//! Every error is one line, `error: ...`, on stderr. A SQL error with a `line:column` also shows
//! the offending source line with a caret under the column. Usage errors exit with 2 (as clap's
//! own do), a statement cancelled by Ctrl-C with 130, everything else with 1.

use std::fmt;
use std::io::Write;

use crate::script::Statement;

/// Exit code of a run that failed because of a query (or the files it read or wrote).
pub const EXIT_QUERY: i32 = 1;
/// Exit code of a run that failed because of how the CLI was called.
pub const EXIT_USAGE: i32 = 2;

/// A mistake in how the CLI was called (flags that do not fit together, a bad dot-command).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow::Error`, for `return Err(usage(...))`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// A statement that failed, kept with its source for pointing at the error.
#[derive(Debug)]
pub struct StatementError {
    /// What the library reported.
    pub error: rsql::Error,
    /// The statement, with the lines of its source.
    pub statement: Statement,
    /// The file the statement came from, if any.
    pub source_name: Option<String>,
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for StatementError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The `line:column` (1-based) of a parse or bind error.
pub fn sql_position(error: &rsql::Error) -> Option<(usize, usize)> {
    error
        .position()
        .map(|p| (p.line as usize, p.column as usize))
}

/// The exit code `error` calls for.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    let cancelled = error
        .downcast_ref::<StatementError>()
        .is_some_and(|e| e.error.is_cancelled());
    if error.downcast_ref::<UsageError>().is_some() {
        EXIT_USAGE
    } else if cancelled {
        crate::interrupt::EXIT_INTERRUPTED
    } else {
        EXIT_QUERY
    }
}

/// The report of `error`: the `error: ...` line and, for SQL errors with a position, the source
/// line and a caret. (Errors are the user's to fix, so they carry no backtrace; panics do, when
/// `RUST_BACKTRACE` asks for them: see [`install_panic_hook`].)
pub fn render(error: &anyhow::Error) -> String {
    let mut out = format!("error: {}\n", one_line(&message(error)));
    if let Some(failed) = error.downcast_ref::<StatementError>() {
        out.push_str(&pointer(failed));
    }
    out
}

/// Writes the report of `error` to stderr.
pub fn report(error: &anyhow::Error) {
    let _ = std::io::stderr().write_all(render(error).as_bytes());
}

/// Whether the user asked for backtraces.
pub fn backtraces_wanted() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}

/// The messages of `error`'s chain joined by `: `, leaving out a cause whose message the one
/// before it already includes (errors that print their source, transparent wrappers).
fn message(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// Replaces line breaks inside a message so the report stays one line.
fn one_line(message: &str) -> String {
    message
        .trim_end()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ")
}

/// ` --> file:line:col`, the source line and a caret under the column, or nothing when the
/// error has no position.
fn pointer(failed: &StatementError) -> String {
    let Some((line, column)) = sql_position(&failed.error) else {
        return String::new();
    };
    let Some(text) = failed.statement.source_line(line) else {
        return String::new();
    };
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    // Keep tabs so the caret lines up with what the terminal shows.
    let indent: String = text
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let mut out = String::new();
    if let Some(name) = &failed.source_name {
        out.push_str(&format!("{pad}--> {name}:{line}:{column}\n"));
    }
    out.push_str(&format!("{pad} |\n{line} | {text}\n{pad} | {indent}^\n"));
    out
}

/// Replaces the default panic message with one `error:` line, unless backtraces were asked for.
/// A panic inside a task prints nothing: the scheduler retries the task, and the panic reaches
/// the user as the query's error only when no retry heals it.
pub fn install_panic_hook() {
    if backtraces_wanted() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        if rsql_rdd::in_task() {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        eprintln!(
            "error: internal error (thread '{thread}' panicked{location}): {}",
            one_line(&message)
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{Item, split_script};

    fn last_statement(sql: &str) -> Statement {
        match split_script(sql).pop().unwrap() {
            Item::Statement(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usage_errors_exit_2_and_others_1() {
        assert_eq!(exit_code(&usage("bad flags")), EXIT_USAGE);
        assert_eq!(exit_code(&anyhow::anyhow!("query failed")), EXIT_QUERY);
        let wrapped = usage("bad").context("while starting");
        assert_eq!(exit_code(&wrapped), EXIT_USAGE);
    }

    #[test]
    fn messages_are_folded_into_one_line() {
        let error = anyhow::anyhow!("first\nsecond\n");
        assert_eq!(render(&error).lines().next(), Some("error: first second"));
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(io).context("cannot read a.sql");
        assert_eq!(render(&error), "error: cannot read a.sql: no such file\n");
    }

    #[test]
    fn a_positioned_error_points_at_its_column() {
        let session = rsql::Session::new().unwrap();
        let stmt = last_statement("SELECT 1;\n  SELECT nope + 1");
        let error = session.sql(&stmt.padded_sql()).err().unwrap();
        let failed = StatementError {
            error,
            statement: stmt,
            source_name: Some("q.sql".into()),
        };
        assert_eq!(sql_position(&failed.error), Some((2, 10)));
        let text = render(&anyhow::Error::new(failed));
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("error: unknown column 'nope' at 2:10"),
            "{text}"
        );
        assert_eq!(lines[1], " --> q.sql:2:10");
        assert_eq!(lines[3], "2 |   SELECT nope + 1");
        assert_eq!(lines[4], "  |          ^");
    }
}
