//! hookbook's core: the domain's parsed types and rules, the cryptography
//! (passwords, tokens, the vault), and how an error is reported. Nothing
//! here does I/O beyond reading a key file; every other crate builds on it.

pub mod domain;
pub mod report;
pub mod security;
