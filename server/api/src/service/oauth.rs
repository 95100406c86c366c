//! `POST /v1/oauth/token`: the OAuth2 client-credentials grant (RFC 6749
//! section 4.4).
//!
//! The client authenticates with HTTP Basic or with `client_id` and
//! `client_secret` form fields, never both. Errors use the RFC 6749
//! section 5.2 JSON body rather than problem+json, because OAuth2 client
//! libraries parse that body.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::service::{OAuthErrorResponse, OAuthTokenResponse};

use super::credentials::secret_matches;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::{ApiError, StandardErrorBody};
use crate::routes::{record, request_id};
use crate::store::security::{CredentialKind, ServiceCredentialRow};

/// Route key of the rate limit.
pub const OAUTH_TOKEN_ROUTE: &str = "POST /v1/oauth/token";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
const GRANT_TYPE: &str = "client_credentials";
/// Longest `client_id` or `client_secret` accepted; issued ones are shorter.
const MAX_CREDENTIAL_CHARS: usize = 128;

/// An RFC 6749 section 5.2 error.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            description: description.into(),
        }
    }

    fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: "client authentication failed: the client is unknown or revoked, or \
                          the secret is wrong"
                .to_owned(),
        }
    }
}

/// The token endpoint's own failures, and internal errors, which keep
/// their problem+json form.
pub enum TokenError {
    OAuth(OAuthError),
    Api(ApiError),
}

impl From<ApiError> for TokenError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<OAuthError> for TokenError {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let error = match self {
            TokenError::Api(error) => return error.into_response(),
            TokenError::OAuth(error) => error,
        };
        let body = OAuthErrorResponse {
            error: error.code.to_owned(),
            error_description: error.description,
        };
        let mut response = (error.status, axum::Json(body)).into_response();
        if error.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sharepay\""),
            );
        }
        response.extensions_mut().insert(StandardErrorBody);
        response
    }
}

/// The parsed form of a token request.
struct TokenRequest {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
}

#[utoipa::path(
    post,
    path = "/v1/oauth/token",
    tag = "service",
    request_body(
        content_type = "application/x-www-form-urlencoded",
        description = "`grant_type=client_credentials`, optional `scope` (space-separated subset of the client's scopes), and `client_id` with `client_secret` unless they are sent by HTTP Basic.",
        content = String
    ),
    responses(
        (status = 200, description = "An access token (EdDSA JWT, audience `sharepay-service`) for the service endpoints.", body = OAuthTokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_scope` or `unsupported_grant_type`.", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`: unknown or revoked client, or wrong secret.", body = OAuthErrorResponse),
        (status = 429, description = "Too many requests from this address.", body = sharepay_domain::wire::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenError> {
    let request = parse_request(&headers, &body)?;
    match request.grant_type.as_deref() {
        Some(GRANT_TYPE) => {}
        Some(other) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                code: "unsupported_grant_type",
                description: format!("grant_type {other:?} is not supported; use {GRANT_TYPE}"),
            }
            .into());
        }
        None => {
            return Err(OAuthError::invalid_request(format!(
                "grant_type is missing; send grant_type={GRANT_TYPE}"
            ))
            .into());
        }
    }
    let (client_id, client_secret) = client_credentials(&headers, &request)?;
    let request_id = request_id(&headers);

    let client = authenticate_client(&state, &client_id, &client_secret, request_id).await?;
    let scopes = granted_scopes(&client, request.scope.as_deref())?;
    let lifetime = state.config.security.service_token_seconds;
    let access_token = state
        .tokens
        .issue_service(&client.lookup_id, &scopes, lifetime)?;

    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::System,
        "oauth.token",
        &format!("oauth_client:{}", client.lookup_id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({ "scopes": scopes }));
    record(&state, event).await?;

    let body = OAuthTokenResponse {
        access_token: access_token.expose_secret().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: lifetime,
        scope: scopes.join(" "),
    };
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(FORM_CONTENT_TYPE));
    if !is_form {
        return Err(OAuthError::invalid_request(format!(
            "the body must be a form; send Content-Type: {FORM_CONTENT_TYPE}"
        )));
    }
    let mut request = TokenRequest {
        grant_type: None,
        scope: None,
        client_id: None,
        client_secret: None,
    };
    for (name, value) in form_urlencoded::parse(body) {
        let duplicate = match name.as_ref() {
            "grant_type" => request.grant_type.replace(value.into_owned()).is_some(),
            "scope" => request.scope.replace(value.into_owned()).is_some(),
            "client_id" => request.client_id.replace(value.into_owned()).is_some(),
            "client_secret" => request
                .client_secret
                .replace(SecretString::from(value.into_owned()))
                .is_some(),
            // RFC 6749 section 3.2: unknown parameters are ignored.
            _ => false,
        };
        if duplicate {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {name} appears more than once; send it once"
            )));
        }
    }
    Ok(request)
}

/// Returns the client id and secret from HTTP Basic or from the form,
/// rejecting a request that uses both or neither.
fn client_credentials(
    headers: &HeaderMap,
    request: &TokenRequest,
) -> Result<(String, SecretString), OAuthError> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "));
    let in_form = request.client_id.is_some() || request.client_secret.is_some();
    let (client_id, client_secret) = match (basic, in_form) {
        (Some(_), true) => {
            return Err(OAuthError::invalid_request(
                "send the client credentials either by HTTP Basic or in the form, not both",
            ));
        }
        (Some(encoded), false) => decode_basic(encoded).ok_or_else(OAuthError::invalid_client)?,
        (None, true) => match (&request.client_id, &request.client_secret) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return Err(OAuthError::invalid_client()),
        },
        (None, false) => return Err(OAuthError::invalid_client()),
    };
    if client_id.is_empty()
        || client_id.len() > MAX_CREDENTIAL_CHARS
        || client_secret.expose_secret().len() > MAX_CREDENTIAL_CHARS
    {
        return Err(OAuthError::invalid_client());
    }
    Ok((client_id, client_secret))
}

/// Decodes `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section
/// 2.3.1).
fn decode_basic(encoded: &str) -> Option<(String, SecretString)> {
    let decoded = zeroize::Zeroizing::new(BASE64.decode(encoded.trim()).ok()?);
    let text = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, SecretString::from(form_decode(secret)?)))
}

/// Decodes one form-urlencoded component.
fn form_decode(component: &str) -> Option<String> {
    let mut pairs = form_urlencoded::parse(component.as_bytes());
    match (pairs.next(), pairs.next()) {
        (Some((key, value)), None) if value.is_empty() => Some(key.into_owned()),
        (None, None) => Some(String::new()),
        _ => None,
    }
}

async fn authenticate_client(
    state: &AppState,
    client_id: &str,
    client_secret: &SecretString,
    request_id: Option<&str>,
) -> Result<ServiceCredentialRow, TokenError> {
    let row = state
        .security
        .store
        .find_service_credential(CredentialKind::OAuthClient, client_id)
        .await
        .map_err(|e| ApiError::internal("loading an OAuth2 client", e))?;
    let reason = match &row {
        None => Some("unknown client"),
        Some(row) if !secret_matches(&row.secret_hash, client_secret.expose_secret()) => {
            Some("wrong client secret")
        }
        Some(row) if row.revoked_at.is_some() => Some("revoked client"),
        Some(_) => None,
    };
    match (row, reason) {
        (Some(row), None) => Ok(row),
        (_, reason) => {
            let resource = if reason == Some("unknown client") {
                "oauth_client:unknown".to_owned()
            } else {
                format!("oauth_client:{client_id}")
            };
            let event = AuditEvent::new(
                AuditKind::Authentication,
                Actor::Anonymous,
                "oauth.token",
                &resource,
                Outcome::Failure,
            )
            .reason(reason.unwrap_or("rejected"))
            .request_id(request_id);
            record(state, event).await?;
            tracing::info!(reason, "rejected an OAuth2 client");
            Err(OAuthError::invalid_client().into())
        }
    }
}

/// Returns the requested scopes, or all of the client's when none are
/// requested; `invalid_scope` names any the client does not hold.
fn granted_scopes(
    client: &ServiceCredentialRow,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested.filter(|text| !text.trim().is_empty()) else {
        return Ok(client.scopes.clone());
    };
    let mut scopes = Vec::new();
    for scope in requested.split(' ').filter(|scope| !scope.is_empty()) {
        if !client.scopes.iter().any(|held| held == scope) {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_scope",
                description: format!(
                    "the client may not request {scope:?}; it holds: {}",
                    client.scopes.join(" ")
                ),
            });
        }
        if !scopes.iter().any(|kept| kept == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = BASE64.encode("spc_ab%2Bc:se%3Acret");
        let (id, secret) = decode_basic(&encoded).expect("decodes");
        assert_eq!(id, "spc_ab+c");
        assert_eq!(secret.expose_secret(), "se:cret");

        assert!(decode_basic("not base64!").is_none());
        assert!(decode_basic(&BASE64.encode("no-colon")).is_none());
    }

    #[test]
    fn duplicate_parameter_is_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(FORM_CONTENT_TYPE),
        );
        let Err(error) = parse_request(&headers, b"grant_type=a&grant_type=b") else {
            panic!("a repeated parameter must be rejected");
        };
        assert_eq!(error.code, "invalid_request");
    }

    #[test]
    fn json_body_is_invalid_request() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let Err(error) = parse_request(&headers, b"{}") else {
            panic!("JSON must be rejected");
        };
        assert_eq!(error.code, "invalid_request");
    }
}
