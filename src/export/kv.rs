//! KV inventory: the names of the secrets in a KV mount, never their values.
//!
//! KV v2 is listed under `<mount>/metadata/` and KV v1 at the mount itself, with a recursive
//! LIST, folder by folder, all folders of the mount in flight at once (the API semaphore bounds
//! the real concurrency). `data/` is never touched.
//!
//! Bounds: `max_depth` is the most path segments a listed key may have (`a/b/c` has 3); a folder
//! at the limit is recorded unexpanded, as `a/b/`. `max_keys` caps the work per mount: every
//! key recorded and every folder listed counts towards it (a tree of folders only, which records
//! no key, must not make the exporter list forever), so one mount costs at most `max_keys + 1`
//! LISTs. Once it is reached no new LIST is started and every folder not yet listed is recorded
//! unexpanded. Either way the listing status is `truncated`.
//!
//! Why LIST and not OpenBao's recursive SCAN: one SCAN answers with the whole mount in one
//! response, whatever the bounds (a million keys are one 60 MB answer held by the server and the
//! exporter), and a single denied or failing sub-folder fails all of it; the folder walk honours
//! the bounds on the server side, records exactly which folder could not be listed, and at the
//! default concurrency exports tens of thousands of keys per second.

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::model::{Affects, KeyList, Listing, ListingStatus, SecretInventory, SecretMount};

use super::client::{list_keys, ApiError, Op};
use super::coverage::GapSpec;
use super::error::ExportError;
use super::Ctx;

/// KV listing bounds.
#[derive(Debug, Clone, Copy)]
pub struct KvLimits {
    pub max_depth: u32,
    pub max_keys: u64,
}

/// List every key of a KV mount (v1 or v2) within the bounds.
pub(crate) async fn inventory(
    ctx: &Ctx,
    ns: &str,
    mount: &SecretMount,
    limits: KvLimits,
) -> Result<SecretInventory, ExportError> {
    let base = match mount.kv_version() {
        Some(2) => format!("{}/metadata/", mount.name()),
        _ => mount.api_prefix(),
    };
    let mount_prefix = mount.api_prefix();
    let max_depth = limits.max_depth.max(1);
    let max_keys = usize::try_from(limits.max_keys)
        .unwrap_or(usize::MAX)
        .max(1);

    let list = |prefix: String, depth: u32| {
        let endpoint = format!("{base}{prefix}");
        async move {
            let listing = ctx.api.call(ns, Op::List, &endpoint).await;
            (prefix, depth, endpoint, listing)
        }
    };

    let mut walk = KvWalk {
        max_depth,
        max_keys,
        ..KvWalk::default()
    };
    let mut pending = FuturesUnordered::new();
    pending.push(list(String::new(), 0));
    while let Some((prefix, depth, endpoint, result)) = pending.next().await {
        let children = match result {
            Ok(v) => list_keys(&v),
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => {
                ctx.coverage.record(
                    GapSpec {
                        ns,
                        endpoint: &endpoint,
                        op: Op::List,
                        affects: Affects::Secrets,
                        mount: Some(&mount_prefix),
                        object: None,
                    },
                    &e,
                )?;
                walk.failed(prefix, e);
                continue;
            }
        };
        let expansion = walk.expand(prefix, depth, &children);
        ctx.api.progress().keys_found(expansion.keys_found);
        for (folder, depth) in expansion.folders {
            pending.push(list(folder, depth));
        }
    }
    let listing = walk.listing(&base);
    if listing.status == ListingStatus::NotListed {
        return Ok(SecretInventory {
            listing,
            ..SecretInventory::default()
        });
    }
    let mut keys = walk.keys;
    keys.sort_unstable();
    keys.dedup();
    let bytes = keys.iter().map(String::len).sum();
    let mut list = KeyList::with_capacity(keys.len(), bytes);
    list.extend(keys.iter());
    Ok(SecretInventory {
        listing,
        keys: list,
        ..SecretInventory::default()
    })
}

/// The state of one mount's listing: the keys found, and which bound or failure stopped it.
#[derive(Default)]
struct KvWalk {
    max_depth: u32,
    max_keys: usize,
    keys: Vec<String>,
    /// `--kv-max-keys` hit: no new LIST.
    limit_reached: bool,
    /// Anything left unexpanded by either bound (the listing status).
    truncated: bool,
    failed_folders: usize,
    /// Folders sent to LIST below the mount's root; they count towards `max_keys`.
    listed_folders: usize,
    root_error: Option<ApiError>,
}

/// What one LIST answer adds: the keys found, and the folders to list next (with their depth).
struct Expansion {
    keys_found: u64,
    folders: Vec<(String, u32)>,
}

impl KvWalk {
    /// A LIST that failed: the root fails the listing; a folder is recorded unexpanded.
    fn failed(&mut self, prefix: String, error: ApiError) {
        if prefix.is_empty() {
            self.root_error = Some(error);
        } else {
            self.failed_folders += 1;
            self.keys.push(prefix);
        }
    }

    fn full(&self) -> bool {
        self.keys.len() + self.listed_folders >= self.max_keys
    }

    /// Record the children of `prefix` within the bounds.
    fn expand(&mut self, prefix: String, depth: u32, children: &[String]) -> Expansion {
        let mut expansion = Expansion {
            keys_found: 0,
            folders: Vec::new(),
        };
        if self.limit_reached {
            // The key limit was reached while this LIST was in flight: keep the folder
            // unexpanded.
            if !prefix.is_empty() {
                self.keys.push(prefix);
            }
            return expansion;
        }
        for (i, child) in children.iter().enumerate() {
            if self.full() {
                self.limit_reached = true;
                self.truncated = true;
                // Part of this folder was recorded; mark it as not fully expanded.
                if i > 0 && !prefix.is_empty() {
                    self.keys.push(prefix.clone());
                }
                break;
            }
            let full = format!("{prefix}{child}");
            if !child.ends_with('/') {
                expansion.keys_found += 1;
                self.keys.push(full);
            } else if depth + 1 < self.max_depth {
                self.listed_folders += 1;
                expansion.folders.push((full, depth + 1));
            } else {
                self.truncated = true;
                self.keys.push(full);
            }
        }
        if self.full() {
            self.limit_reached = true;
            self.truncated = true;
        }
        expansion
    }

    /// The listing's status and the reason it is not complete.
    fn listing(&self, base: &str) -> Listing {
        let (max_depth, max_keys) = (self.max_depth, self.max_keys);
        let mut listing = Listing {
            max_depth: Some(max_depth),
            max_keys: Some(max_keys as u64),
            ..Listing::default()
        };
        if let Some(e) = &self.root_error {
            listing.status = ListingStatus::NotListed;
            listing.reason = Some(format!(
                "LIST {base} failed (HTTP {}): {}",
                e.status()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                e.reason()
            ));
        } else if self.failed_folders > 0 {
            listing.status = ListingStatus::Partial;
            listing.reason = Some(format!(
                "{} folder(s) could not be listed (see coverage); they are recorded \
                 unexpanded{}",
                self.failed_folders,
                if self.truncated {
                    ", and the depth or key limit was reached"
                } else {
                    ""
                }
            ));
        } else if self.truncated {
            listing.status = ListingStatus::Truncated;
            listing.reason = Some(format!(
                "stopped at the limits (--kv-max-depth {max_depth}, --kv-max-keys {max_keys}; \
                 keys and listed folders count towards --kv-max-keys); folders ending in / were \
                 not expanded"
            ));
        } else {
            listing.status = ListingStatus::Complete;
        }
        listing
    }
}
