//! The site's encryption key check: a constant sealed with the key that
//! first used the database, so that a node (or `migrate`) with another key
//! refuses to start instead of failing every delivery.

use crate::security::vault::Vault;
use crate::store::{Store, StoreError, KEY_CHECK};

use crate::store::sealed::sealed_context;

const KEY_CHECK_TEXT: &[u8] = b"hookbook encryption key check 1";

/// Whether `vault`'s key is the site's.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyCheck {
    Matches,
    Mismatch,
}

/// Compares the key with the site's check value; a site without one (new,
/// or from before the check) gets this key's, after its stored secrets (if
/// any) showed that the key opens them. The first node to store a value
/// wins; a node that started beside it with another key then fails.
pub async fn check_key(store: &dyn Store, vault: &Vault) -> Result<KeyCheck, StoreError> {
    let stored = match store.site_value(KEY_CHECK).await? {
        Some(value) => value,
        None => {
            if let Some(r) = store.receivers(None).await?.first() {
                if vault
                    .open(&r.secret, &sealed_context(&r.id, "secret"))
                    .is_err()
                {
                    return Ok(KeyCheck::Mismatch);
                }
            }
            store
                .put_site_value_once(KEY_CHECK, &vault.seal(KEY_CHECK_TEXT, KEY_CHECK))
                .await?
        }
    };
    Ok(match vault.open(&stored, KEY_CHECK) {
        Ok(text) if text == KEY_CHECK_TEXT => KeyCheck::Matches,
        _ => KeyCheck::Mismatch,
    })
}
