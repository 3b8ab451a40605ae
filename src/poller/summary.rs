//! Microsoft's own registration summaries for every configured breakdown, fetched through `$batch`
//! (two GETs per breakdown: by feature and by method).

use super::TenantPoller;
use crate::aggregation::activity::NativeBreakdown;
use crate::aggregation::fold::BoundedLabel;
use crate::aggregation::interned::Name;
use crate::graph::{BatchGet, GraphError};
use crate::reports::summary::{FeatureSummary, MethodSummary, feature_path, method_path};
use crate::reports::{CredentialKind, ReportKind};

pub(crate) async fn fetch(p: &TenantPoller, credential: CredentialKind) -> Result<Vec<NativeBreakdown>, GraphError> {
    let breakdowns = &p.settings.breakdowns;
    let mut gets = Vec::with_capacity(breakdowns.len() * 2);
    for (i, b) in breakdowns.iter().enumerate() {
        let (t, r) = (b.user_type.as_str(), b.user_role.as_str());
        gets.push(BatchGet {
            id: format!("f{i}"),
            url: format!("/{}", feature_path(t, r)),
            endpoint: "usersRegisteredByFeature",
        });
        gets.push(BatchGet {
            id: format!("m{i}"),
            url: format!("/{}", method_path(t, r)),
            endpoint: "usersRegisteredByMethod",
        });
    }
    let mut bodies = p.client.batch_get("v1.0", credential, &gets).await?;
    let mut out = Vec::with_capacity(breakdowns.len());
    // Graph counted these: the folded methods' (and features') counts are summed into `other`.
    let mut folder = p.folder(BoundedLabel::Method);
    let mut feature_folder = p.folder(BoundedLabel::Feature);
    for (i, &breakdown) in breakdowns.iter().enumerate() {
        let decode = |endpoint: &str, e: serde_json::Error| GraphError::Decode {
            endpoint: endpoint.into(),
            message: e.to_string(),
        };
        let features: FeatureSummary = serde_json::from_value(bodies.remove(&format!("f{i}")).unwrap_or_default())
            .map_err(|e| decode("usersRegisteredByFeature", e))?;
        let methods: MethodSummary = serde_json::from_value(bodies.remove(&format!("m{i}")).unwrap_or_default())
            .map_err(|e| decode("usersRegisteredByMethod", e))?;
        out.push(NativeBreakdown {
            breakdown,
            total_users: features.total_user_count.or(methods.total_user_count),
            features: feature_folder.fold_sum(
                features
                    .user_registration_feature_counts
                    .into_iter()
                    .map(|c| (Name::intern(&c.feature), c.user_count))
                    .collect(),
                |r| &mut r.0,
                |a, b| a.0 == b.0,
                |a, b| a.1 += b.1,
            ),
            methods: folder.fold_sum(
                methods
                    .user_registration_method_counts
                    .into_iter()
                    .map(|c| (Name::intern(&c.authentication_method), c.user_count))
                    .collect(),
                |r| &mut r.0,
                |a, b| a.0 == b.0,
                |a, b| a.1 += b.1,
            ),
        });
    }
    p.folded(ReportKind::RegistrationSummary, [folder, feature_folder]);
    Ok(out)
}
