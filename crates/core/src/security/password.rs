//! Password hashing with Argon2id (PHC strings), run off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::domain::user::Password;

/// Hashes a password into a PHC string. Slow on purpose: call it from
/// `spawn_blocking`.
pub fn hash(password: &Password) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let phc = Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?;
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed stored
/// hash never matches.
pub fn verify(password: &Password, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody knows, verified against when the user does
/// not exist so that both failures take the same time.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let p = Password::parse("decoy password never used").unwrap_or_else(|_| unreachable!());
        hash(&p).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_and_no_other() {
        let p = Password::parse("correct horse").unwrap();
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(&p, &h));
        assert!(!verify(&Password::parse("wrong horse").unwrap(), &h));
        assert!(!verify(&p, "not a hash"));
    }
}
