//! Microsoft Graph: credentials and tokens, the HTTP client with pacing, retries and paging, and the
//! typed error every failure becomes. Knows nothing of metrics; reports what it does through
//! [`RequestObserver`] ([`crate::health`]).

pub mod assertion;
mod batch;
mod client;
mod credentials;
mod error;
mod managed_identity;
mod pacing;
mod paging;
mod retry;
pub mod token_file;

pub use crate::health::RequestObserver;
pub use assertion::{ClientCertificate, now_unix};
pub use batch::{BatchGet, MAX_BATCH};
pub(crate) use client::{BodyError, read_token_body};
pub use client::{GraphClient, MAX_GRAPH_BODY, MAX_TOKEN_BODY, http_client};
pub use credentials::{Credential, IssuedToken, TokenCache, delegated_scope, post_form, token_url};
pub(crate) use error::reason_hint;
pub use error::{FailureReason, GraphError};
pub use managed_identity::{ManagedIdentity, parse_token as parse_managed_identity_token};
pub use pacing::Pacer;
pub use paging::{PageRead, PagingStats};
pub use retry::{backoff, parse_retry_after};
