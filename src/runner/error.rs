//! Why a kernel could not be started or driven.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot start the Python kernel ({python}): {source}")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the kernel's directory: {0}")]
    Dir(#[source] std::io::Error),
    #[error("cannot put the kernel in its cgroup: {0}")]
    Limit(#[source] std::io::Error),
    #[error("the kernel did not become ready within {0:?}")]
    StartTimeout(Duration),
    #[error("the kernel exited ({0})")]
    Exited(String),
    #[error("talking to the kernel failed: {0}")]
    Protocol(String),
}

pub(super) fn protocol(e: impl std::fmt::Display) -> KernelError {
    KernelError::Protocol(e.to_string())
}
