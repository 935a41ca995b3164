//! `rsql`: run SQL over Parquet, NDJSON and CSV files from the command line, one-shot or in an
//! interactive shell. `rsql --help` shows the flags and examples.

mod allocator;
mod args;
mod errors;
mod interrupt;
mod output;
mod progress;
mod repl;
mod runner;
mod script;
mod tables;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use rsql::{Session, SessionConfig};

use crate::args::{Args, Invocation, ScriptSource};
use crate::errors::{EXIT_QUERY, exit_code, report};
use crate::interrupt::Interrupts;
use crate::output::Sink;
use crate::progress::Progress;
use crate::runner::{Flow, Runner, Settings};
use crate::script::split_script;

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    errors::install_panic_hook();
    let invocation = Invocation::from_env();
    match run(invocation) {
        Ok(code) => ExitCode::from(code as u8),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::from(exit_code(&error) as u8)
        }
    }
}

/// Runs what the command line asks for and returns the exit code.
fn run(invocation: Invocation) -> Result<i32> {
    let Invocation { args, scripts } = invocation;
    if let Some(dir) = &args.dump_docs {
        dump_docs(dir)?;
        return Ok(0);
    }
    let sink = Sink::open(args.output.as_deref())?;
    sink.check_format(args.format)?;
    let session =
        Session::with_config(session_config(&args)?).context("cannot start the runtime")?;
    tables::register_all(&session, &args.tables)?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let progress = Progress::new(session.context(), show_progress);
    let settings = Settings {
        format: args.format,
        max_rows: args.max_rows,
        timer: args.timer,
    };
    let interrupts = Interrupts::install(session.context().clone())?;
    let mut runner = Runner::new(session, sink, settings, progress, interrupts);

    let stdin = std::io::stdin();
    let code = if !scripts.is_empty() {
        run_scripts(&mut runner, &scripts)?;
        0
    } else if stdin.is_terminal() {
        // Errors were shown as they happened; leaving the shell is a success.
        repl::interactive(&mut runner)?;
        0
    } else {
        let outcome = repl::piped(&mut runner, stdin.lock())?;
        if outcome.had_errors { EXIT_QUERY } else { 0 }
    };
    runner.finish()?;
    Ok(code)
}

/// Writes the generated reference pages into `dir`.
fn dump_docs(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, content) in rsql::reference::reference_pages() {
        let path = dir.join(name);
        std::fs::write(&path, content)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The session settings the flags ask for.
fn session_config(args: &Args) -> Result<SessionConfig> {
    let mut config = SessionConfig::default();
    if let Some(threads) = args.threads {
        config.threads = usize::from(threads);
        config.shuffle_partitions = config.threads * rsql::SHUFFLE_PARTITIONS_PER_THREAD;
    }
    if let Some(partitions) = args.partitions {
        config.shuffle_partitions = partitions as usize;
    }
    if let Some(limit) = args.memory_limit {
        config.memory_limit = limit.0;
    }
    if let Some(dir) = &args.catalog {
        config.catalog = Some(dir.clone());
    }
    if let Some(zone) = &args.time_zone {
        config.time_zone.clone_from(zone);
    }
    for arg in &args.settings {
        arg.setting
            .apply(&mut config, &arg.value)
            .map_err(anyhow::Error::msg)?;
    }
    Ok(config)
}

/// Runs `-c` and `-f` scripts in order, stopping at the first error.
fn run_scripts(runner: &mut Runner, scripts: &[ScriptSource]) -> Result<()> {
    for script in scripts {
        let (text, name) = match script {
            ScriptSource::Command(sql) => (sql.clone(), None),
            ScriptSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                (text, Some(path.display().to_string()))
            }
        };
        for item in split_script(&text) {
            if runner.run_item(&item, name.as_deref())? == Flow::Quit {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Whether `error` is stdout closing early (`rsql ... | head`), which is not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
