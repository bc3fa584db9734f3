//! Logging: `tracing` to standard error with a filter from configuration,
//! as text (coloured only on a terminal, and never under `NO_COLOR`) or as
//! one JSON object per line for log shippers.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the subscriber once; later calls (as in tests) do nothing.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(crate::config::colour_on_stderr())
            .try_init(),
    };
}
