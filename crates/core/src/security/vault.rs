//! The vault: XChaCha20-Poly1305 encryption of receiver secrets and api
//! tokens at rest, with a key from the environment or a 0600 file in the data
//! dir created on first start.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

use crate::domain::sensitive::Sensitive;

/// The file, inside the data dir, that holds the key when none is given.
pub const KEY_FILE: &str = "encryption.key";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Encrypts and decrypts small values, each bound to what it belongs to
/// (the associated data), so a sealed value cannot be moved to another row.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
}

/// A sealed value could not be opened: wrong key, or tampered with.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted (wrong encryption key, or the value was altered)")]
pub struct OpenError;

impl Vault {
    /// Builds the vault from a base64 key (32 bytes) given in configuration,
    /// or else from the key file in `data_dir`, creating it (mode 0600) when
    /// it does not exist.
    pub fn load(configured: Option<&Sensitive<String>>, data_dir: &Path) -> anyhow::Result<Self> {
        let key = match configured {
            Some(text) => decode_key(text.expose())
                .context("HOOKBOOK_ENCRYPTION_KEY must be 32 bytes in base64")?,
            None => load_or_create_key_file(&data_dir.join(KEY_FILE))?,
        };
        Ok(Self::from_key(&key))
    }

    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(OpenError);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }
}

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .context("not valid base64")?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("decoded to {} bytes, not 32", b.len()))
}

/// Writes the key file of `data_dir` from a key file's `text` (checked to
/// be a key), readable by its owner only; refuses to replace one.
pub fn install_key_file(text: &str, data_dir: &Path) -> anyhow::Result<()> {
    decode_key(text).context("the key file is not 32 bytes in base64")?;
    let path = data_dir.join(KEY_FILE);
    write_private(&path, text.trim())
        .with_context(|| format!("cannot write the key file {}", path.display()))
}

fn load_or_create_key_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode_key(&text)
            .with_context(|| format!("the key file {} is not 32 bytes in base64", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            write_private(path, &base64::engine::general_purpose::STANDARD.encode(key))
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the key file {}", path.display())),
    }
}

/// Writes a new file readable by its owner only, synced before returning.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_own_context() {
        let vault = Vault::from_key(&[7u8; 32]);
        let sealed = vault.seal(b"9f8b47c2e4a748d3b58e2a17ad8f2e4b", "receiver:a:secret");
        assert!(!sealed.windows(8).any(|w| w == b"9f8b47c2"));
        assert_eq!(
            vault.open(&sealed, "receiver:a:secret").unwrap(),
            b"9f8b47c2e4a748d3b58e2a17ad8f2e4b"
        );
        assert!(vault.open(&sealed, "receiver:b:secret").is_err());
        assert!(Vault::from_key(&[8u8; 32])
            .open(&sealed, "receiver:a:secret")
            .is_err());
        assert!(vault.open(&sealed[..10], "receiver:a:secret").is_err());
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = Vault::load(None, dir.path()).unwrap().seal(b"x", "c");
        let again = Vault::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed, "c").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_key_must_be_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Vault::load(Some(&Sensitive::new("c2hvcnQ=".into())), dir.path()).is_err());
        let good = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        assert!(Vault::load(Some(&Sensitive::new(good)), dir.path()).is_ok());
        assert!(!dir.path().join(KEY_FILE).exists());
    }
}
