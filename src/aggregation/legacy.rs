//! credentialUserRegistrationDetails rows → users by status and by registered method.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fold::Folder;
use crate::reports::legacy::CredentialUserRegistrationDetails;

/// `status` label values, named after registrationStatusType (Microsoft Graph, "userRegistrationCount resource type"
/// (<https://learn.microsoft.com/graph/api/resources/userregistrationcount?view=graph-rest-beta>)).
pub(crate) const STATUSES: [&str; 4] = ["registered", "enabled", "capable", "mfaRegistered"];

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CredentialDetailsSummary {
    pub(crate) users: u64,
    /// Parallel to [`STATUSES`].
    pub(crate) by_status: [u64; 4],
    pub(crate) by_method: BTreeMap<String, u64>,
}

impl CredentialDetailsSummary {
    /// Counts one user; `folder` bounds the method values, and a user with folded methods counts once
    /// under `other`.
    pub(crate) fn add(&mut self, row: &CredentialUserRegistrationDetails, folder: &mut Folder) {
        self.users += 1;
        let flags = [row.is_registered, row.is_enabled, row.is_capable, row.is_mfa_registered];
        for (total, flag) in self.by_status.iter_mut().zip(flags) {
            *total += u64::from(flag);
        }
        let mut seen: Vec<&str> = Vec::new();
        for m in &row.auth_methods {
            let m = folder.label(m);
            if !seen.contains(&m) {
                seen.push(m);
                *self.by_method.entry(m.to_string()).or_insert(0) += 1;
            }
        }
    }
}
