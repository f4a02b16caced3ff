//! Userpass users (`internal/builtin/credential/userpass/path_login.go`): the login names the user
//! (lowercased), the password must match, then the user's `token_bound_cidrs` must contain the
//! client. The alias name is the lowercased user name.

use super::token::resolve;
use super::{Admission, Alias, Credential, Verdict};
use crate::model::{AuthMount, ServerInfo, UserpassUser};
use std::collections::BTreeMap;

pub(super) fn admit(
    mount: &AuthMount,
    user: &UserpassUser,
    cred: &Credential<'_>,
    server: &ServerInfo,
) -> Admission {
    let Some(name) = cred.user else {
        return Admission::unknown(
            "the pipeline's userpass user is not known",
            format!(
                "whether the pipeline logs in as userpass user {:?}",
                user.name
            ),
        );
    };
    let login = name.to_lowercase();
    if login != user.name.to_lowercase() {
        return Admission::refused(format!(
            "the pipeline logs in as user {login:?}, not {:?}",
            user.name
        ));
    }
    let mut admission = Admission::new(
        Verdict::Admitted,
        format!("the pipeline logs in as userpass user {:?}", user.name),
    );
    admission.conditions.push(format!(
        "the pipeline knows the password of user {:?}",
        user.name
    ));
    admission.require_login_cidrs("token_bound_cidrs", &user.token.token_bound_cidrs);
    admission.alias = Some(Alias {
        mount_accessor: mount.accessor.clone(),
        name: login,
        name_known: true,
        metadata: BTreeMap::new(),
        match_metadata: BTreeMap::new(),
    });
    admission.token = resolve(&user.token, user.token.configured_policies(), mount, server);
    admission
}
