//! Typed Microsoft Graph payloads (Microsoft Graph, "userRegistrationDetails resource type"
//! (<https://learn.microsoft.com/graph/api/resources/userregistrationdetails>); Microsoft Graph, "Microsoft Graph error
//! responses and resource types" (<https://learn.microsoft.com/graph/errors>)), tolerant by design: unknown fields are
//! ignored, enum-like values stay strings (Graph adds members over time), and nullable or missing properties default
//! instead of failing the whole page.

pub(crate) mod activity;
pub(crate) mod directory;
pub(crate) mod legacy;
pub mod registration_details;
pub(crate) mod summary;

use serde::Deserialize;

pub use crate::catalog::{CredentialKind, GROUP_MEMBERS, REPORTS, ReportKind, ReportSpec};

/// One page of an OData collection. `value` is required: a 200 answer without it is not a page.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// Graph's error envelope: `{"error": {"code", "message", "innerError": {...}}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub(crate) error: ErrorBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(rename = "innerError", alias = "innererror", default)]
    pub(crate) inner_error: Option<InnerError>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InnerError {
    #[serde(rename = "request-id", default)]
    pub(crate) request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_envelope_of_a_licence_failure_parses() {
        let body = r#"{"error":{"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Tenant is not a B2C tenant and doesn't have premium license","innerError":{"date":"2021-09-02T14:32:39","request-id":"2501535b-2fd7-43e3-87db-c12cbe31fca0","client-request-id":"2501535b-2fd7-43e3-87db-c12cbe31fca0"}}}"#;
        let env: ErrorEnvelope = serde_json::from_str(body).unwrap();
        assert_eq!(env.error.code.as_deref(), Some("Authentication_RequestFromNonPremiumTenantOrB2CTenant"));
        assert_eq!(env.error.inner_error.unwrap().request_id.as_deref(), Some("2501535b-2fd7-43e3-87db-c12cbe31fca0"));
    }

    #[test]
    fn a_page_without_value_is_rejected_and_an_empty_one_accepted() {
        assert!(serde_json::from_str::<Page<serde_json::Value>>(r#"{"@odata.context":"x"}"#).is_err());
        let p: Page<serde_json::Value> =
            serde_json::from_str(r#"{"value":[],"@odata.nextLink":"https://g/x"}"#).unwrap();
        assert!(p.value.is_empty());
        assert_eq!(p.next_link.as_deref(), Some("https://g/x"));
    }
}
