//! The resources whose SQL is the same on both databases, written once:
//! each file is a macro that implements one resource's trait for a store
//! with a `pool` field, a `begin_write` method (a transaction that will
//! write: `BEGIN IMMEDIATE` on SQLite) and a `write_turn` method that every
//! write awaits first (SQLite's fair queue of writers; nothing on
//! PostgreSQL). Numbered placeholders (`$1`) and
//! the types and functions used here mean the same on SQLite and
//! PostgreSQL. What really differs (claims, intake batches, notifications)
//! stays in `sqlite/` and `postgres/`.

pub mod copy;
pub mod dashboard;
pub mod items;
pub mod nodes;
pub mod notices;
pub mod progress;
pub mod receivers;
pub mod retries;
pub mod runtimes;
pub mod tokens;
pub mod uploads;
pub mod users;
