//! Logging: `tracing` to standard error with a filter from configuration.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; later calls (as in tests) do nothing.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
