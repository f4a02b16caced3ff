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
pub async fn inventory(
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
            let r = ctx.api.call(ns, Op::List, &endpoint).await;
            (prefix, depth, endpoint, r)
        }
    };

    let mut keys: Vec<String> = Vec::new();
    let mut pending = FuturesUnordered::new();
    pending.push(list(String::new(), 0));
    // `limit_reached`: --kv-max-keys hit, no new LIST; `truncated`: anything left unexpanded by
    // either bound (the listing status).
    let mut limit_reached = false;
    let mut truncated = false;
    let mut failed_folders = 0usize;
    // Folders sent to LIST below the mount's root; they count towards `max_keys`.
    let mut listed_folders = 0usize;
    let mut root_error: Option<ApiError> = None;

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
                if prefix.is_empty() {
                    root_error = Some(e);
                } else {
                    failed_folders += 1;
                    keys.push(prefix);
                }
                continue;
            }
        };
        if limit_reached {
            // The key limit was reached while this LIST was in flight: keep the folder
            // unexpanded.
            if !prefix.is_empty() {
                keys.push(prefix);
            }
            continue;
        }
        let mut found = 0u64;
        for (i, child) in children.iter().enumerate() {
            if keys.len() + listed_folders >= max_keys {
                limit_reached = true;
                truncated = true;
                // Part of this folder was recorded; mark it as not fully expanded.
                if i > 0 && !prefix.is_empty() {
                    keys.push(prefix.clone());
                }
                break;
            }
            let full = format!("{prefix}{child}");
            if child.ends_with('/') {
                if depth + 1 < max_depth {
                    listed_folders += 1;
                    pending.push(list(full, depth + 1));
                } else {
                    truncated = true;
                    keys.push(full);
                }
            } else {
                found += 1;
                keys.push(full);
            }
        }
        ctx.api.progress().keys_found(found);
        if keys.len() + listed_folders >= max_keys {
            limit_reached = true;
            truncated = true;
        }
    }

    let mut listing = Listing {
        max_depth: Some(max_depth),
        max_keys: Some(max_keys as u64),
        ..Listing::default()
    };
    if let Some(e) = root_error {
        listing.status = ListingStatus::NotListed;
        listing.reason = Some(format!(
            "LIST {base} failed (HTTP {}): {}",
            e.status()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            e.reason()
        ));
        return Ok(SecretInventory {
            listing,
            ..SecretInventory::default()
        });
    }
    if failed_folders > 0 {
        listing.status = ListingStatus::Partial;
        listing.reason = Some(format!(
            "{failed_folders} folder(s) could not be listed (see coverage); they are recorded \
             unexpanded{}",
            if truncated {
                ", and the depth or key limit was reached"
            } else {
                ""
            }
        ));
    } else if truncated {
        listing.status = ListingStatus::Truncated;
        listing.reason = Some(format!(
            "stopped at the limits (--kv-max-depth {max_depth}, --kv-max-keys {max_keys}; \
             keys and listed folders count towards --kv-max-keys); folders ending in / were not \
             expanded"
        ));
    } else {
        listing.status = ListingStatus::Complete;
    }
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
