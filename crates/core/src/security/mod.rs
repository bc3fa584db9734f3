//! Cryptography: password hashes, access tokens, and the vault that encrypts
//! secrets at rest.

pub mod password;
pub mod throttle;
pub mod token;
pub mod vault;
