//! Ctrl-C. While a statement runs, the first Ctrl-C cancels it: its jobs stop between record
//! batches, spill files and staged output are removed, and the shell (or piped script) goes
//! on; a `-c`/`-f` script stops with exit code 130. A second Ctrl-C, or one while nothing
//! runs, exits at once with 130. (At the shell's prompt the line editor reads Ctrl-C itself.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use rsql_rdd::Context;

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Whether a statement runs, and whether its cancellation was asked for.
#[derive(Clone, Default)]
pub struct Interrupts {
    running: Arc<AtomicBool>,
    cancelling: Arc<AtomicBool>,
}

impl Interrupts {
    /// Installs the Ctrl-C handler for the runtime `context`.
    pub fn install(context: Context) -> Result<Interrupts> {
        let interrupts = Interrupts::default();
        let state = interrupts.clone();
        ctrlc::set_handler(move || {
            if state.running.load(Ordering::SeqCst)
                && !state.cancelling.swap(true, Ordering::SeqCst)
            {
                eprintln!("\ncancelling the statement (Ctrl-C again to quit)");
                context.cancel_running_jobs();
            } else {
                std::process::exit(EXIT_INTERRUPTED);
            }
        })
        .context("cannot install the Ctrl-C handler")?;
        Ok(interrupts)
    }

    /// Runs one statement, cancellable by Ctrl-C.
    pub fn statement<R>(&self, run: impl FnOnce() -> R) -> R {
        self.cancelling.store(false, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
        let result = run();
        self.running.store(false, Ordering::SeqCst);
        result
    }
}
