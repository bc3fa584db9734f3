//! hookbook: webhook receivers that run Jupyter notebooks, compatible with
//! the ArcGIS Notebook Server admin API. See ARCHITECTURE.md for the map.

pub use hookbook_core::{domain, report, security};
pub use hookbook_metrics as metrics;
pub use hookbook_metrics::health;
pub use hookbook_runner as runner;
pub use hookbook_store as store;

pub mod api;
pub mod cluster;
pub mod config;
pub mod error;
pub mod intake;
pub mod notices;
pub mod reference;
pub mod replay;
pub mod send;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod ui;
