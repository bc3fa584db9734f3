//! What a long command is doing, for the person who ran it: on a terminal
//! a spinner with the step, its count and the time so far (`indicatif`);
//! in a pipe or a file, one plain line per step, with the time it began.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// The steps of one piece of work.
pub struct Steps {
    total: usize,
    started: Instant,
    /// A spinner, on a terminal only.
    spinner: Option<ProgressBar>,
}

impl Steps {
    pub fn new(total: usize) -> Self {
        let spinner = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            total,
            started: Instant::now(),
            spinner,
        }
    }

    /// Step `n` of the work begins.
    pub fn step(&self, n: usize, what: &str) {
        let text = format!("[{n}/{}] {what}", self.total);
        match &self.spinner {
            Some(bar) => bar.set_message(text),
            None => eprintln!(
                "hookbook: {text} ({:.1} s)",
                self.started.elapsed().as_secs_f64()
            ),
        }
    }

    /// The work ended; the time it took.
    pub fn done(self) -> Duration {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
        self.started.elapsed()
    }
}
