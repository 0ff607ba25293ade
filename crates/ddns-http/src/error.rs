//! REST API errors: a machine-readable code, a human message, the right HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ddns_store::StoreError;
use ddns_zones::{AuthError, UpdateError};

/// An error answered as `{"status":"error","code":…,"message":…}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "badauth",
            "a valid token is required (Authorization: Bearer TOKEN)",
        )
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many updates for this host; slow down",
            )
        }
    }
}

impl ApiError {
    pub(crate) fn too_many_writes(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many API writes with this token; slow down",
            )
        }
    }

    pub(crate) fn too_many_updates(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many updates with this token; slow down",
            )
        }
    }

    pub(crate) fn too_many_requests(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address; slow down",
            )
        }
    }

    pub(crate) fn auth_throttled(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many failed authentications from this address; wait before trying again",
            )
        }
    }

    /// 403 rather than 409: nothing about the host conflicts; the token is refused more hosts
    /// until it deletes some (as deSEC answers its domain limit).
    fn host_quota(message: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, "host_quota", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy => Self {
                retry_after: Some(5),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            },
            StoreError::NotFound(_) => Self::not_found(e.to_string()),
            StoreError::HostQuota { .. } => Self::host_quota(e.to_string()),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("the server could not store the change: {other}"),
                )
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid => Self::unauthorized(),
            AuthError::Store(s) => s.into(),
        }
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::NotServed(_) => Self::new(StatusCode::NOT_FOUND, "nohost", e.to_string()),
            UpdateError::OutOfScope(_) | UpdateError::TypeNotAllowed { .. } => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            UpdateError::ReadOnly => Self::new(StatusCode::FORBIDDEN, "read_only", e.to_string()),
            UpdateError::Reserved { .. } | UpdateError::Conflict(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            UpdateError::BadRecord(_)
            | UpdateError::BadZoneFile(_)
            | UpdateError::UnknownView(_) => Self::bad_request(e.to_string()),
            UpdateError::VersionMismatch { .. } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                e.to_string(),
            ),
            UpdateError::NotFound(_) | UpdateError::NoSuchHistory(_) => {
                Self::not_found(e.to_string())
            }
            UpdateError::HistoryOfAnotherName { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "wrong_host", e.to_string())
            }
            UpdateError::HostQuota { .. } => Self::host_quota(e.to_string()),
            UpdateError::Store(s) => s.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({"status": "error", "code": self.code, "message": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ddns\""),
            );
        }
        response
    }
}
