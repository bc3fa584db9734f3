//! `GIS("home")` inside runs: the file the ArcGIS API for Python reads
//! from `NB_AUTH_FILE` on an ArcGIS notebook server, pointing at the
//! site's portal (hookbook itself) with the run's token. The package
//! speaks to a portal over HTTPS only, so a run gets the file only when
//! the site's public URL is HTTPS.

use serde_json::json;

use hookbook_core::domain::time::Millis;

/// The name of the file in the kernel's private directory.
pub const FILE: &str = "nbauth.json";

/// The file's contents for a run whose portal is `portal` (the site's
/// public URL and context path) and whose token is `token`, valid until
/// `expires`; `None` when the portal is not HTTPS.
pub fn auth_file(portal: &str, token: &str, expires: Millis) -> Option<Vec<u8>> {
    if !portal.starts_with("https://") {
        return None;
    }
    let file = json!({
        "privatePortalUrl": portal,
        "publicPortalUrl": portal,
        "referer": "",
        "token": token,
        "expiration": expires.0,
    });
    Some(file.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_https_portal_gets_a_file_with_the_packages_keys() {
        assert!(auth_file("http://h/notebooks", "t", Millis(1)).is_none());
        let file = auth_file("https://h:8443/notebooks", "t0k", Millis(5)).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&file).unwrap();
        for key in ["privatePortalUrl", "publicPortalUrl", "referer"] {
            assert!(value.get(key).is_some(), "{key} missing: {value}");
        }
        assert_eq!(value["token"], "t0k");
        assert_eq!(value["expiration"], 5);
    }
}
