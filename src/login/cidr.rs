//! CIDR membership, for the `token_bound_cidrs` / `secret_id_bound_cidrs` conditions of a login.
//!
//! The server parses these lists with `parseutil.ParseAddrs` (go-sockaddr): a bare address is a
//! host (`/32`, `/128`), otherwise `addr/prefix`.

use std::net::IpAddr;

/// Whether `ip` is inside `cidr` (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`). `None` when `cidr`
/// does not parse.
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let cidr = cidr.trim();
    let (addr, prefix) = match cidr.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (cidr, None),
    };
    let net: IpAddr = addr.parse().ok()?;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = prefix.unwrap_or(32);
            if bits > 32 {
                return None;
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = prefix.unwrap_or(128);
            if bits > 128 {
                return None;
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(i) & mask)
        }
        // An IPv4 address written as IPv6 (::ffff:a.b.c.d) against an IPv4 block.
        (IpAddr::V4(_), IpAddr::V6(i)) => match i.to_ipv4_mapped() {
            Some(v4) => cidr_contains(cidr, IpAddr::V4(v4)),
            None => Some(false),
        },
        (IpAddr::V6(_), IpAddr::V4(_)) => Some(false),
    }
}

/// Whether `ip` is inside any of `cidrs` (unparsable entries never match). An empty list admits
/// every address.
pub fn any_cidr_contains<S: AsRef<str>>(cidrs: &[S], ip: IpAddr) -> bool {
    cidrs.is_empty()
        || cidrs
            .iter()
            .any(|c| cidr_contains(c.as_ref(), ip).unwrap_or(false))
}

/// An address block written `addr/prefix` (or a bare address: one host), as the inventory's
/// `source_addresses` and the server's CIDR lists write it.
/// Read and written as text; reading checks it (a typo must not silently make every CIDR binding
/// pass or fail).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct Network {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Network {
    /// Parse `10.0.0.0/8`, `192.0.2.7`, `fd00::/8`; `None` when it is not a CIDR block.
    pub fn parse(text: &str) -> Option<Network> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Network { addr, prefix })
    }

    /// Whether every address of `self` lies inside the server-side block `cidr`.
    fn inside(&self, cidr: &str) -> bool {
        Network::parse(cidr).is_some_and(|c| {
            c.prefix <= self.prefix && cidr_contains(cidr, self.addr).unwrap_or(false)
        })
    }

    /// Whether some address of `self` lies inside `cidr` (blocks are nested or disjoint).
    fn overlaps(&self, cidr: &str) -> bool {
        self.inside(cidr)
            || Network::parse(cidr)
                .is_some_and(|c| cidr_contains(&self.to_string(), c.addr).unwrap_or(false))
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl TryFrom<String> for Network {
    type Error = InvalidNetwork;
    fn try_from(text: String) -> Result<Network, InvalidNetwork> {
        Network::parse(&text).ok_or(InvalidNetwork { text })
    }
}

/// Text that is neither a CIDR block nor an IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a CIDR block or IP address (e.g. 10.20.0.0/16)")]
pub struct InvalidNetwork {
    pub text: String,
}

impl From<Network> for String {
    fn from(n: Network) -> String {
        n.to_string()
    }
}

/// How much of the runners' networks a server-side CIDR list lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceCoverage {
    /// Every runner address is inside the list.
    All,
    /// Runners in `allowed` pass (wholly or in part); runners in `outside` do not.
    Part {
        allowed: Vec<Network>,
        outside: Vec<Network>,
    },
    /// No runner address is inside the list.
    None,
}

/// Judge the runners' networks against a server-side CIDR list (empty list: all pass).
pub fn source_coverage(sources: &[Network], cidrs: &[String]) -> SourceCoverage {
    if cidrs.is_empty() || sources.iter().all(|n| cidrs.iter().any(|c| n.inside(c))) {
        return SourceCoverage::All;
    }
    let (allowed, outside): (Vec<Network>, Vec<Network>) = sources
        .iter()
        .partition(|n| cidrs.iter().any(|c| n.overlaps(c)));
    if allowed.is_empty() {
        SourceCoverage::None
    } else {
        SourceCoverage::Part { allowed, outside }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_blocks_and_hosts() {
        assert_eq!(cidr_contains("127.0.0.0/8", ip("127.0.0.1")), Some(true));
        assert_eq!(cidr_contains("10.0.0.0/8", ip("127.0.0.1")), Some(false));
        assert_eq!(cidr_contains("127.0.0.1", ip("127.0.0.1")), Some(true));
        assert_eq!(cidr_contains("127.0.0.1/32", ip("127.0.0.2")), Some(false));
        assert_eq!(cidr_contains("0.0.0.0/0", ip("8.8.8.8")), Some(true));
        assert_eq!(cidr_contains("bogus", ip("8.8.8.8")), None);
        assert_eq!(cidr_contains("1.2.3.4/33", ip("1.2.3.4")), None);
    }

    #[test]
    fn v6_and_mixed() {
        assert_eq!(cidr_contains("fd00::/8", ip("fd12::1")), Some(true));
        assert_eq!(cidr_contains("::1", ip("::1")), Some(true));
        assert_eq!(
            cidr_contains("127.0.0.0/8", ip("::ffff:127.0.0.1")),
            Some(true)
        );
        assert_eq!(cidr_contains("::/0", ip("127.0.0.1")), Some(false));
        assert!(any_cidr_contains::<&str>(&[], ip("1.1.1.1")));
        assert!(any_cidr_contains(&["bogus", "1.1.1.0/24"], ip("1.1.1.1")));
        assert!(!any_cidr_contains(&["bogus"], ip("1.1.1.1")));
    }

    fn nets(xs: &[&str]) -> Vec<Network> {
        xs.iter().map(|x| Network::parse(x).unwrap()).collect()
    }

    #[test]
    fn networks_parse_like_the_server_lists() {
        assert_eq!(Network::parse("10.1.0.0/16").unwrap().prefix, 16);
        assert_eq!(Network::parse("192.0.2.7").unwrap().prefix, 32);
        assert_eq!(Network::parse("fd00::/8").unwrap().prefix, 8);
        assert_eq!(Network::parse("10.0.0.0/33"), None);
        assert_eq!(Network::parse("runner-1"), None);
        assert_eq!(Network::parse("").map(|n| n.prefix), None);
    }

    #[test]
    fn coverage_all_part_none() {
        let role = vec!["10.0.0.0/8".to_string()];
        assert_eq!(
            source_coverage(&nets(&["10.1.0.0/16", "10.2.3.4"]), &role),
            SourceCoverage::All
        );
        assert_eq!(
            source_coverage(&nets(&["192.0.2.0/24"]), &role),
            SourceCoverage::None
        );
        // A runner block wider than the role's: only part of it can log in.
        assert_eq!(
            source_coverage(&nets(&["10.0.0.0/7"]), &role),
            SourceCoverage::Part {
                allowed: nets(&["10.0.0.0/7"]),
                outside: vec![]
            }
        );
        assert_eq!(
            source_coverage(&nets(&["10.0.0.0/16", "192.0.2.0/24"]), &role),
            SourceCoverage::Part {
                allowed: nets(&["10.0.0.0/16"]),
                outside: nets(&["192.0.2.0/24"])
            }
        );
        assert_eq!(
            source_coverage(&nets(&["1.2.3.4"]), &[]),
            SourceCoverage::All
        );
        // IPv6 runners never pass an IPv4 list.
        assert_eq!(
            source_coverage(&nets(&["fd00::/8"]), &role),
            SourceCoverage::None
        );
    }
}
