//! The resolver every notice request goes through: a name resolves only
//! to the addresses the operator's allow-list permits for it, so that a
//! notice URL can never reach the server's own network (loopback, private
//! ranges, cloud metadata) unless the operator allowed exactly that.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::domain::outbound::{Allowlist, UrlHost};

/// Resolves names with the system's resolver, then keeps only the
/// addresses `allow` permits for that name; none left is an error naming
/// why.
pub struct GuardedResolver {
    pub allow: Arc<Allowlist>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (kept, refused) = permitted(&allow, &host, &found);
            if kept.is_empty() {
                let why = refused.unwrap_or_else(|| format!("{host} has no address"));
                return Err(why.into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The addresses of `host` the list permits, and why the first refused one
/// was refused.
fn permitted(
    allow: &Allowlist,
    host: &str,
    found: &[SocketAddr],
) -> (Vec<SocketAddr>, Option<String>) {
    let mut refused = None;
    let kept = found
        .iter()
        .filter(|addr| match allow.check_address(host, addr.ip()) {
            Ok(()) => true,
            Err(why) => {
                refused.get_or_insert(why);
                false
            }
        })
        .copied()
        .collect();
    (kept, refused)
}

/// Why a host may not be asked now.
pub enum Unreachable {
    /// Its name did not resolve (perhaps only for now).
    Unresolved(String),
    /// None of its addresses is allowed.
    NotAllowed(String),
}

/// Resolves `host` and checks that the list permits at least one of its
/// addresses, before a request is made (the resolver checks again as it
/// connects).
pub async fn check_resolved(allow: &Allowlist, host: &str) -> Result<(), Unreachable> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| Unreachable::Unresolved(format!("{host} could not be resolved: {e}")))?
        .collect();
    match permitted(allow, host, &found) {
        (kept, _) if !kept.is_empty() => Ok(()),
        (_, Some(why)) => Err(Unreachable::NotAllowed(why)),
        (_, None) => Err(Unreachable::Unresolved(format!("{host} has no address"))),
    }
}

/// A URL whose host is an address is never resolved: it is checked here.
pub fn check_literal(allow: &Allowlist, host: &UrlHost) -> Result<(), String> {
    match host {
        UrlHost::Ip(ip) => allow.check_address(&ip.to_string(), *ip),
        UrlHost::Name(name) => match name.parse::<IpAddr>() {
            Ok(ip) => allow.check_address(name, ip),
            Err(_) => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permitted_addresses_are_kept() {
        let allow = Allowlist::parse("hooks.example.com").unwrap();
        let found: Vec<SocketAddr> = ["93.184.216.34:0", "127.0.0.1:0"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let (kept, refused) = permitted(&allow, "hooks.example.com", &found);
        assert_eq!(kept, [found[0]]);
        assert!(refused.unwrap().contains("loopback"));
        let (kept, _) = permitted(&allow, "elsewhere.example.net", &found);
        assert!(kept.is_empty());
    }
}
