//! Why a kernel could not be started or driven. Each variant says what
//! failed; its cause, where there is one, is its `source`, never repeated in
//! its text (`report::chain` prints both).

use std::time::Duration;

use jupyter_zmq_client::RuntimeError;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot start the Python kernel ({python})")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the kernel's directory")]
    Dir(#[source] std::io::Error),
    #[error("cannot put the kernel in its cgroup")]
    Limit(#[source] std::io::Error),
    #[error("the kernel did not become ready within {0:?}")]
    StartTimeout(Duration),
    #[error("the kernel exited ({0})")]
    Exited(String),
    /// A message on one of the kernel's sockets could not be sent or read.
    #[error("talking to the kernel on its {channel} channel failed")]
    Channel {
        channel: &'static str,
        #[source]
        source: RuntimeError,
    },
    /// The code every kernel runs before its first cell raised.
    #[error("warming up the kernel raised {ename}: {evalue}")]
    WarmUp { ename: String, evalue: String },
    /// The fork server's pipes failed.
    #[error("talking to the fork server failed")]
    ForkServerPipe(#[source] std::io::Error),
    /// The fork server answered what is not its protocol.
    #[error("the fork server's answer was not understood")]
    ForkServerAnswer(#[source] serde_json::Error),
    /// The fork server said no, or said nothing.
    #[error("the fork server {0}")]
    ForkServer(String),
}

/// Builds the `map_err` for a failure on the kernel's `channel` socket.
pub(super) fn channel(channel: &'static str) -> impl Fn(RuntimeError) -> KernelError {
    move |source| KernelError::Channel { channel, source }
}
