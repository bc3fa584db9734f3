//! Access tokens: random, shown to the client once, stored only as a SHA-256
//! hash and compared in constant time.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::domain::sensitive::Sensitive;

/// A token as the client holds it.
#[derive(Debug, Clone)]
pub struct Token(Sensitive<String>);

/// The stored form of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl Token {
    /// 32 random bytes, URL-safe base64 without padding.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(Sensitive::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    /// Wraps what a client sent; any text is a candidate, the store decides.
    pub fn from_client(text: &str) -> Self {
        Self(Sensitive::new(text.trim().to_string()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.expose().as_bytes()).into())
    }

    /// The CSRF token of a session held in a cookie: derived from the
    /// session token, so it needs no storage, and useless without it.
    pub fn csrf(&self) -> String {
        let digest = Sha256::digest(format!("hookbook csrf\0{}", self.expose()).as_bytes());
        hex::encode(&digest[..16])
    }

    /// Whether `given` is this session's CSRF token, in constant time.
    pub fn csrf_matches(&self, given: &str) -> bool {
        let expected = self.csrf();
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }
}

impl TokenHash {
    /// Constant-time equality, used to confirm a row found by its hash.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_differ_and_hash_stably() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43);
        assert!(a.hash().matches(&Token::from_client(a.expose()).hash()));
        assert!(a.csrf_matches(&a.csrf()));
        assert!(!a.csrf_matches(&b.csrf()));
        assert!(!a.csrf_matches(""));
        assert!(!a.hash().matches(&b.hash()));
    }
}
