//! Microsoft Graph: credentials and tokens, the HTTP client with pacing, retries and paging, and the
//! typed error every failure becomes. Knows nothing of metrics; reports what it does through
//! [`RequestObserver`] ([`crate::health`]).

pub(crate) mod assertion;
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
pub(crate) use assertion::{ClientCertificate, now_unix};
pub(crate) use batch::BatchGet;
pub(crate) use client::{BodyError, read_token_body};
pub use client::{GraphClient, MAX_GRAPH_BODY, MAX_TOKEN_BODY, http_client};
pub(crate) use credentials::{delegated_scope, post_form, token_url};
pub use error::{FailureReason, GraphError};
pub(crate) use error::{TokenSource, reason_hint};
pub use paging::{PageRead, PagingStats};
