//! Notebook runs: a Jupyter client over ZeroMQ (`kernel`), a pool of warm
//! single-use kernels (`pool`), papermill-compatible injection and
//! execution (`inject`, `literal`, `execute`, `outputs`), and the worker
//! that takes jobs from the store and runs them (`worker`).

pub mod cgroup;
pub mod execute;
pub mod inject;
pub mod kernel;
pub mod literal;
pub mod outputs;
pub mod pool;
pub mod setup;
pub mod worker;
