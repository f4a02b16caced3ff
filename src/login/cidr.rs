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
}
