//! Where hookbook may send requests of its own (failure notices): the
//! operator's allow-list of host names and networks, the URLs users give,
//! and which addresses a name may resolve to. No I/O: the sender resolves
//! names and asks these rules about each address.

use std::fmt;
use std::net::IpAddr;

use super::ParseError;

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let wrong = || ParseError::new(format!("'{input}' is not a network such as 10.0.0.0/8"));
        let (ip, prefix) = input.trim().split_once('/').ok_or_else(wrong)?;
        let base: IpAddr = ip.parse().map_err(|_| wrong())?;
        let prefix: u8 = prefix.parse().map_err(|_| wrong())?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(wrong());
        }
        Ok(Self { base, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is the IPv4 one.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why an address is not on the public internet, if it is not.
pub fn special_use(ip: IpAddr) -> Option<&'static str> {
    match unmapped(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local address (cloud metadata lives there)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("not a host's address")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a carrier-grade NAT address")
            } else if v4.is_documentation()
                || a >= 240
                || (a == 192 && b == 0)
                || (a == 198 && (b == 18 || b == 19))
            {
                Some("a reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a host's address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if (first == 0x2001 && v6.segments()[1] == 0x0db8) || first == 0x0064 {
                Some("a reserved address")
            } else {
                None
            }
        }
    }
}

/// One entry of the allow-list: a host name (`hooks.example.com`), every
/// name under a domain (`*.example.com`), or a network.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Host(String),
    Domain(String),
    Network(Network),
}

/// The operator's allow-list (`--notice-allow`). A URL's host must be
/// named by it, or be an address inside one of its networks; a name it
/// names may resolve to public addresses, and to others only inside one
/// of its networks (so that a name cannot be pointed at the server's own
/// network after it was allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<Allowed>,
}

impl Allowlist {
    /// Entries separated by commas or spaces; empty allows nothing.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let mut entries = Vec::new();
        for word in input
            .split([',', ' '])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            let entry = if word.contains('/') {
                Allowed::Network(Network::parse(word)?)
            } else if let Some(domain) = word.strip_prefix("*.") {
                Allowed::Domain(host_name(domain)?)
            } else if let Ok(ip) = word.parse::<IpAddr>() {
                let bits = if ip.is_ipv4() { 32 } else { 128 };
                Allowed::Network(Network {
                    base: ip,
                    prefix: bits,
                })
            } else {
                Allowed::Host(host_name(word)?)
            };
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the list names this host (not an address).
    pub fn names(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.entries.iter().any(|e| match e {
            Allowed::Host(h) => *h == host,
            Allowed::Domain(d) => host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            Allowed::Network(_) => false,
        })
    }

    fn in_networks(&self, ip: IpAddr) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, Allowed::Network(n) if n.contains(ip)))
    }

    /// Whether a request may go to `ip`, found for `host`: an address in
    /// one of the networks always; else a public address of a named host.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        if self.in_networks(ip) {
            return Ok(());
        }
        match special_use(ip) {
            Some(why) => Err(format!(
                "{host} resolves to {ip}, {why}, which --notice-allow does not allow"
            )),
            None if self.names(host) => Ok(()),
            None => Err(format!("{host} is not allowed by --notice-allow")),
        }
    }

    /// Whether a URL's host may be asked at all: named, or an address the
    /// networks hold. What it resolves to is checked when it is used.
    pub fn check_host(&self, host: &UrlHost) -> Result<(), String> {
        let allowed = match host {
            UrlHost::Ip(ip) => self.in_networks(*ip),
            UrlHost::Name(name) => self.names(name),
        };
        if allowed {
            Ok(())
        } else if self.is_empty() {
            Err("this server sends notices nowhere (the operator has allowed no host with --notice-allow)".into())
        } else {
            Err(format!(
                "the host {host} is not one this server may send notices to (--notice-allow: {self})"
            ))
        }
    }
}

impl fmt::Display for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self
            .entries
            .iter()
            .map(|e| match e {
                Allowed::Host(h) => h.clone(),
                Allowed::Domain(d) => format!("*.{d}"),
                Allowed::Network(n) => n.to_string(),
            })
            .collect();
        f.write_str(&words.join(","))
    }
}

/// A DNS name as the allow-list holds it: lowercase letters, digits,
/// hyphens and dots.
fn host_name(input: &str) -> Result<String, ParseError> {
    let name = input.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(name)
    } else {
        Err(ParseError::new(format!("'{input}' is not a host name")))
    }
}

/// The host of a URL: a name or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlHost {
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for UrlHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlHost::Name(n) => f.write_str(n),
            UrlHost::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// An `http` or `https` URL with a host and without credentials, as a
/// destination of notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeUrl {
    text: String,
    host: UrlHost,
}

impl NoticeUrl {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let wrong = |why: &str| Err(ParseError::new(format!("'{text}' {why}")));
        if text.len() > 2000 {
            return wrong("is longer than 2000 characters");
        }
        let rest = if let Some(rest) = text.strip_prefix("https://") {
            rest
        } else if let Some(rest) = text.strip_prefix("http://") {
            rest
        } else {
            return wrong("is not an http:// or https:// URL");
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return wrong(
                "has a user name or password in it; put credentials in the notice's secret instead",
            );
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return wrong("has spaces or control characters in it");
        }
        let host = if let Some(v6) = authority.strip_prefix('[') {
            let Some((ip, port)) = v6.split_once(']') else {
                return wrong("has an unclosed [ in its host");
            };
            if !(port.is_empty() || valid_port(port.strip_prefix(':').unwrap_or("x"))) {
                return wrong("has an invalid port");
            }
            match ip.parse() {
                Ok(ip) => UrlHost::Ip(IpAddr::V6(ip)),
                Err(_) => return wrong("has an invalid IPv6 address"),
            }
        } else {
            let (name, port) = match authority.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (authority, None),
            };
            if port.is_some_and(|p| !valid_port(p)) {
                return wrong("has an invalid port");
            }
            match name.parse::<IpAddr>() {
                Ok(ip) => UrlHost::Ip(ip),
                Err(_) => match host_name(name) {
                    Ok(name) => UrlHost::Name(name),
                    Err(_) => return wrong("has no valid host"),
                },
            }
        };
        Ok(Self {
            text: text.to_string(),
            host,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn host(&self) -> &UrlHost {
        &self.host
    }
}

fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn urls_and_lists_parse_without_panicking_and_urls_reparse(s in "\\PC{0,120}") {
            if let Ok(u) = NoticeUrl::parse(&s) {
                prop_assert_eq!(NoticeUrl::parse(u.as_str()).unwrap(), u.clone());
            }
            if let Ok(list) = Allowlist::parse(&s) {
                prop_assert_eq!(Allowlist::parse(&list.to_string()).unwrap(), list);
            }
        }

        #[test]
        fn urls_of_any_host_and_port_shape_never_panic(host in "[a-z0-9.:\\[\\]-]{0,40}", port in "[0-9]{0,7}") {
            let _ = NoticeUrl::parse(&format!("https://{host}:{port}/x"));
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_hold_their_addresses_and_mapped_ones() {
        let n = Network::parse("10.1.0.0/16").unwrap();
        assert!(n.contains(ip("10.1.255.1")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
    }

    #[test]
    fn a_named_host_may_resolve_only_to_public_addresses_unless_a_network_allows() {
        let list = Allowlist::parse("hooks.example.com, *.example.org 127.0.0.1").unwrap();
        assert!(list
            .check_address("hooks.example.com", ip("93.184.216.34"))
            .is_ok());
        assert!(list
            .check_address("a.example.org", ip("93.184.216.34"))
            .is_ok());
        assert!(
            !list.names("example.org"),
            "*.example.org is names under it"
        );
        assert!(!list.names("evilexample.org"));
        let e = list
            .check_address("hooks.example.com", ip("169.254.169.254"))
            .unwrap_err();
        assert!(e.contains("link-local"), "{e}");
        assert!(list
            .check_address("hooks.example.com", ip("::ffff:10.0.0.1"))
            .is_err());
        assert!(
            list.check_address("localhost", ip("127.0.0.1")).is_ok(),
            "the network allows it"
        );
        assert!(list
            .check_address("other.net", ip("93.184.216.34"))
            .is_err());
    }

    #[test]
    fn urls_name_a_host_and_carry_no_credentials() {
        let u = NoticeUrl::parse("https://Hooks.Example.com:8443/p?q=1").unwrap();
        assert_eq!(u.host(), &UrlHost::Name("hooks.example.com".into()));
        let u = NoticeUrl::parse("http://[::1]:9000/x").unwrap();
        assert_eq!(u.host(), &UrlHost::Ip(ip("::1")));
        assert_eq!(
            NoticeUrl::parse("http://127.0.0.1/").unwrap().host(),
            &UrlHost::Ip(ip("127.0.0.1"))
        );
        for bad in [
            "ftp://a.example/",
            "https://user:pw@a.example/",
            "https://a.example:0/",
            "https://a.example:99999/",
            "https:///path",
            "https://a b.example/",
        ] {
            assert!(NoticeUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_list_allows_nothing_and_says_so() {
        let list = Allowlist::parse("").unwrap();
        let e = list
            .check_host(&UrlHost::Name("a.example".into()))
            .unwrap_err();
        assert!(e.contains("--notice-allow"), "{e}");
        assert!(Allowlist::parse("not a host!").is_err());
    }
}
