//! The notebook server's site as Esri's `admin/info` and
//! `system/properties` describe it.

use std::sync::Arc;

use super::require_author;
use crate::domain::properties::SystemProperties;
use crate::domain::user::User;
use crate::error::{Error, Result};
use crate::store::{SiteStore, Store, StoreError, SYSTEM_PROPERTIES};

/// The system properties: read by authors, written whole by
/// administrators.
pub struct System {
    site: Arc<dyn SiteStore>,
}

impl System {
    pub fn new(store: &Arc<dyn Store>) -> Self {
        Self {
            site: store.clone(),
        }
    }

    /// The stored properties, or the defaults until an administrator
    /// writes them.
    pub async fn properties(&self, caller: &User) -> Result<SystemProperties> {
        require_author(caller)?;
        let Some(bytes) = self.site.site_value(SYSTEM_PROPERTIES).await? else {
            return Ok(SystemProperties::defaults());
        };
        let text = String::from_utf8_lossy(&bytes);
        SystemProperties::parse(&text).map_err(|problem| {
            Error::Store(StoreError::Corrupt(Box::new(crate::store::Corrupt {
                table: "site",
                key: SYSTEM_PROPERTIES.to_string(),
                column: "value",
                problem: Box::new(problem),
            })))
        })
    }

    /// Replaces every property, as Esri's `update` does.
    pub async fn update_properties(
        &self,
        caller: &User,
        properties: &SystemProperties,
    ) -> Result<()> {
        if !caller.is_admin() {
            return Err(Error::Forbidden);
        }
        self.site
            .set_site_value(SYSTEM_PROPERTIES, properties.to_json().as_bytes())
            .await?;
        Ok(())
    }
}
