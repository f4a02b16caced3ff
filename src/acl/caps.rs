//! Capabilities as the bitmap Vault and OpenBao use internally (`policy.go`, `cap2Int`).
//!
//! The bit values are the server's own, so a bitmap here means exactly what it means there.

use std::fmt;

/// A set of capabilities. `deny` is a capability like the others in the bitmap; a rule that
/// carries it carries nothing else (the parser and the merge both enforce that).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Caps(pub u32);

impl Caps {
    pub const NONE: Caps = Caps(0);
    pub const DENY: Caps = Caps(1);
    pub const CREATE: Caps = Caps(1 << 1);
    pub const READ: Caps = Caps(1 << 2);
    pub const UPDATE: Caps = Caps(1 << 3);
    pub const DELETE: Caps = Caps(1 << 4);
    pub const LIST: Caps = Caps(1 << 5);
    pub const SUDO: Caps = Caps(1 << 6);
    pub const PATCH: Caps = Caps(1 << 7);
    pub const SCAN: Caps = Caps(1 << 8);

    /// The capabilities that write a path's data: create, update and patch. Facts count a secret
    /// as written with one of them, and escalation treats a write to an auth, identity or
    /// policy path as a step up: a deletion there grants nothing.
    pub const WRITE: Caps = Caps(Caps::CREATE.0 | Caps::UPDATE.0 | Caps::PATCH.0);

    /// [`Caps::WRITE`] and delete: what can change or destroy a secret. Cross-team reach is
    /// critical with one of them and diagrams draw such reach as writable, because deleting
    /// another team's secret breaks its services as surely as overwriting it.
    pub const WRITE_OR_DELETE: Caps = Caps(Caps::WRITE.0 | Caps::DELETE.0);

    /// Every capability with its name, in the alphabetical order `sys/capabilities` answers in.
    pub const NAMED: [(Caps, &'static str); 9] = [
        (Caps::CREATE, "create"),
        (Caps::DELETE, "delete"),
        (Caps::DENY, "deny"),
        (Caps::LIST, "list"),
        (Caps::PATCH, "patch"),
        (Caps::READ, "read"),
        (Caps::SCAN, "scan"),
        (Caps::SUDO, "sudo"),
        (Caps::UPDATE, "update"),
    ];

    /// The capability called `name` in a policy, if OpenBao accepts it. `root` is never valid in
    /// a policy; Vault-only `subscribe` and `recover` are refused by OpenBao.
    pub fn from_name(name: &str) -> Option<Caps> {
        Caps::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
    }

    pub fn contains(self, other: Caps) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn intersects(self, other: Caps) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_deny(self) -> bool {
        self.0 & Caps::DENY.0 != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Names of the capabilities in this set, sorted alphabetically. A set holding `deny`, or
    /// nothing at all, is `["deny"]`: the answer `sys/capabilities` gives (`acl.go`
    /// `Capabilities`, then `sort.Strings`).
    pub fn names(self) -> Vec<&'static str> {
        if self.is_deny() || self.is_empty() {
            return vec!["deny"];
        }
        Caps::NAMED
            .iter()
            .filter(|(c, _)| self.intersects(*c))
            .map(|(_, n)| *n)
            .collect()
    }
}

impl std::ops::BitOr for Caps {
    type Output = Caps;
    fn bitor(self, rhs: Caps) -> Caps {
        Caps(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Caps {
    fn bitor_assign(&mut self, rhs: Caps) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for Caps {
    type Output = Caps;
    fn bitand(self, rhs: Caps) -> Caps {
        Caps(self.0 & rhs.0)
    }
}

impl fmt::Debug for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.names())
    }
}

impl fmt::Display for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sorted_and_deny_wins() {
        assert_eq!(
            (Caps::READ | Caps::CREATE | Caps::SUDO).names(),
            ["create", "read", "sudo"]
        );
        assert_eq!(Caps::NONE.names(), ["deny"]);
        assert_eq!((Caps::DENY | Caps::READ).names(), ["deny"]);
        assert_eq!(Caps::from_name("scan"), Some(Caps::SCAN));
        assert_eq!(Caps::from_name("READ"), None);
        assert_eq!(Caps::from_name("root"), None);
    }
}
