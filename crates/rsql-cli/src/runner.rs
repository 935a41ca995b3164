//! Running what the user typed: SQL statements against the session, and dot-commands.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use arrow::array::{BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rsql::Session;

use crate::args::Format;
use crate::errors::StatementError;
use crate::interrupt::Interrupts;
use crate::output::format::write_text;
use crate::output::{ResultStyle, Sink};
use crate::progress::Progress;
use crate::script::{Item, Statement};
use rsql::sql_type_name;

/// What `.help` prints.
const HELP: &str = "\
SQL statements end with ';' and may span lines. Dot-commands:
  .help              this text
  .tables            the registered tables and views
  .schema [NAME]     the columns of NAME (or of every table)
  .mode [FORMAT]     show or set the output format: table, csv, tsv, json, ndjson, parquet
  .maxrows N         the most rows 'table' shows (0: all)
  .timer on|off      print each statement's run time on stderr
  .quit              leave (also .exit, or Ctrl-D)
Tables: query a path (SELECT * FROM 'dir/'), CREATE TABLE t AS SELECT ..., CREATE [TEMP] VIEW,
INSERT INTO t ..., SHOW TABLES, DESCRIBE t; COPY (SELECT ...) TO 'out/' (FORMAT parquet) writes
a directory. SET lists the settings. Ctrl-C cancels a running statement.";

/// Whether to keep reading input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// `.quit` was given.
    Quit,
}

/// Settings dot-commands can change.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The output format.
    pub format: Format,
    /// The most rows `table` shows (0: all).
    pub max_rows: usize,
    /// Print run times.
    pub timer: bool,
}

/// A session, its output and its settings.
pub struct Runner {
    session: Session,
    sink: Sink,
    settings: Settings,
    progress: Progress,
    interrupts: Interrupts,
}

impl Runner {
    /// A runner writing results of `session` to `sink`.
    pub fn new(
        session: Session,
        sink: Sink,
        settings: Settings,
        progress: Progress,
        interrupts: Interrupts,
    ) -> Runner {
        Runner {
            session,
            sink,
            settings,
            progress,
            interrupts,
        }
    }

    /// Runs one item; `source_name` (a file) is shown with errors.
    pub fn run_item(&mut self, item: &Item, source_name: Option<&str>) -> Result<Flow> {
        match item {
            Item::Statement(statement) => {
                self.run_statement(statement, source_name)?;
                Ok(Flow::Continue)
            }
            Item::DotCommand(line) => self.run_dot_command(line),
        }
    }

    /// Runs a SQL statement and writes its result.
    pub fn run_statement(
        &mut self,
        statement: &Statement,
        source_name: Option<&str>,
    ) -> Result<()> {
        let start = Instant::now();
        let sql = statement.padded_sql();
        let style = ResultStyle {
            format: self.settings.format,
            max_rows: self.settings.max_rows,
            plain_lines: statement.keyword() == "EXPLAIN",
        };
        let (session, sink, progress) = (&self.session, &mut self.sink, &self.progress);
        let outcome = self.interrupts.statement(|| {
            progress.track(|| -> Result<()> {
                let df = session.sql(&sql)?;
                sink.write_result(&df, style)
            })
        });
        if self.settings.timer {
            eprintln!("Run Time: {:.3} s", start.elapsed().as_secs_f64());
        }
        outcome.map_err(|error| match error.downcast::<rsql::Error>() {
            Ok(error) => anyhow::Error::new(StatementError {
                error,
                statement: statement.clone(),
                source_name: source_name.map(str::to_string),
            }),
            Err(other) => other,
        })
    }

    /// Runs a dot-command (`.tables`, `.mode csv`, ...).
    pub fn run_dot_command(&mut self, line: &str) -> Result<Flow> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        let mut out = std::io::stdout().lock();
        match (command, rest.as_slice()) {
            (".help", _) => writeln!(out, "{HELP}")?,
            (".quit" | ".exit" | ".q", _) => return Ok(Flow::Quit),
            (".tables", []) => {
                for name in self.session.table_names()? {
                    writeln!(out, "{name}")?;
                }
            }
            (".schema", names) => {
                let names = match names {
                    [] => self.session.table_names()?,
                    names => names.iter().map(|n| n.to_string()).collect(),
                };
                let batch = self.schema_batch(&names)?;
                let format = match self.settings.format {
                    Format::Parquet => Format::Table,
                    text => text,
                };
                let schema = batch.schema();
                write_text(format, &schema, std::iter::once(Ok(batch)), 0, &mut out)?;
            }
            (".mode", []) => writeln!(out, "{}", self.settings.format.name())?,
            (".mode", [name]) => {
                let format = Format::from_name(name).with_context(|| {
                    format!("unknown format '{name}' (table, csv, tsv, json, ndjson, parquet)")
                })?;
                self.sink.check_format(format)?;
                self.settings.format = format;
            }
            (".maxrows", [n]) => {
                self.settings.max_rows = n
                    .parse()
                    .with_context(|| format!("'{n}' is not a number of rows"))?;
            }
            (".timer", ["on"]) => self.settings.timer = true,
            (".timer", ["off"]) => self.settings.timer = false,
            (".timer" | ".maxrows" | ".tables", _) => {
                anyhow::bail!("usage: {}", usage_of(command))
            }
            _ => anyhow::bail!("unknown command '{command}' (.help lists them)"),
        }
        out.flush()?;
        Ok(Flow::Continue)
    }

    /// One row per column of each table: table, column, type, nullable.
    fn schema_batch(&self, names: &[String]) -> Result<RecordBatch> {
        let (mut tables, mut columns, mut types, mut nullable) = (vec![], vec![], vec![], vec![]);
        for name in names {
            let schema = self.session.table(name)?.schema();
            for field in schema.fields() {
                tables.push(name.clone());
                columns.push(field.name().clone());
                types.push(sql_type_name(field.data_type()));
                nullable.push(field.is_nullable());
            }
        }
        let schema = Schema::new(vec![
            Field::new("table", DataType::Utf8, false),
            Field::new("column", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("nullable", DataType::Boolean, false),
        ]);
        Ok(RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(tables)),
                Arc::new(StringArray::from(columns)),
                Arc::new(StringArray::from(types)),
                Arc::new(BooleanArray::from(nullable)),
            ],
        )?)
    }

    /// Writes the staged output file into place.
    pub fn finish(self) -> Result<()> {
        self.sink.commit()
    }
}

/// The usage line of a dot-command that was given the wrong arguments.
fn usage_of(command: &str) -> &'static str {
    match command {
        ".timer" => ".timer on|off",
        ".maxrows" => ".maxrows N",
        _ => ".tables",
    }
}
