//! Reading statements as they are typed: the interactive shell (line editing and history with
//! rustyline) and the same loop over piped stdin.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Result;
use rustyline::error::ReadlineError;
use rustyline::history::{FileHistory, History};
use rustyline::{Config, Editor};

use crate::errors::report;
use crate::runner::{Flow, Runner};
use crate::script::{Item, ScriptReader};

/// The prompt of a new statement.
const PROMPT: &str = "rsql> ";
/// The prompt of a statement's next line.
const CONTINUATION: &str = "  ...> ";
/// Lines of history kept.
const HISTORY_SIZE: usize = 10_000;

/// How a shell session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether any statement or command failed.
    pub had_errors: bool,
}

/// Runs the interactive shell until `.quit` or end of input. Errors are reported and the shell
/// goes on.
pub fn interactive(runner: &mut Runner) -> Result<Outcome> {
    let config = Config::builder()
        .max_history_size(HISTORY_SIZE)?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<(), FileHistory> = Editor::with_config(config)?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the normal first run.
        let _ = editor.load_history(path);
    }
    println!(
        "rsql {} — .help for help, .quit to leave",
        env!("CARGO_PKG_VERSION")
    );
    let mut reader = ScriptReader::interactive();
    let mut entry = String::new();
    let mut had_errors = false;
    loop {
        let prompt = if reader.in_statement() {
            CONTINUATION
        } else {
            PROMPT
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C drops the statement being typed, as in psql and duckdb.
                reader.clear();
                entry.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        if !entry.is_empty() {
            entry.push('\n');
        }
        entry.push_str(&line);
        let items = reader.push_line(&line);
        if !reader.in_statement() {
            remember(&mut editor, &entry, history.as_ref());
            entry.clear();
        }
        if run_items(runner, &items, &mut had_errors) == Flow::Quit {
            return Ok(Outcome { had_errors });
        }
    }
    if let Some(item) = reader.finish() {
        run_items(runner, &[item], &mut had_errors);
    }
    Ok(Outcome { had_errors })
}

/// Runs the lines of `input` (piped stdin) as the shell would, without prompts or history.
pub fn piped(runner: &mut Runner, input: impl BufRead) -> Result<Outcome> {
    let mut reader = ScriptReader::new();
    let mut had_errors = false;
    for line in input.lines() {
        let line = line.map_err(|e| anyhow::anyhow!("cannot read stdin: {e}"))?;
        let items = reader.push_line(&line);
        if run_items(runner, &items, &mut had_errors) == Flow::Quit {
            return Ok(Outcome { had_errors });
        }
    }
    if let Some(item) = reader.finish() {
        run_items(runner, &[item], &mut had_errors);
    }
    Ok(Outcome { had_errors })
}

/// Runs `items`, reporting failures and going on; stops at `.quit`.
fn run_items(runner: &mut Runner, items: &[Item], had_errors: &mut bool) -> Flow {
    for item in items {
        match runner.run_item(item, None) {
            Ok(Flow::Quit) => return Flow::Quit,
            Ok(Flow::Continue) => {}
            Err(error) => {
                *had_errors = true;
                report(&error);
            }
        }
    }
    Flow::Continue
}

/// Adds a finished entry (a whole statement, maybe several lines) to the history and saves it.
fn remember(editor: &mut Editor<(), FileHistory>, entry: &str, path: Option<&PathBuf>) {
    if entry.trim().is_empty() {
        return;
    }
    if editor.history_mut().add(entry).unwrap_or(false)
        && let Some(path) = path
    {
        // History is a convenience: a read-only home must not stop the shell.
        let _ = editor.append_history(path);
    }
}

/// `$HOME/.rsql_history`, when there is a home.
fn history_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".rsql_history"))
}
