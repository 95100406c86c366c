//! `sharepay login`, `logout`, `sync` and `sessions ...`: the signed-in
//! session of this terminal.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, bail};
use secrecy::SecretString;
use sharepay_client::{ClientError, SharePayClient};
use zeroize::Zeroizing;

use crate::profile::{ConnectionArgs, Profile};

/// Environment variable that may carry the password, for scripts.
const PASSWORD_VARIABLE: &str = "SHAREPAY_PASSWORD";

/// Logs in, passing a second check with `mfa_method` (or the one the user
/// picks) when the server requires it, and saves the connection profile
/// once the server accepted the login.
pub async fn login(
    data_dir: &Path,
    connection: &ConnectionArgs,
    email: &str,
    register: bool,
    mfa_method: Option<&str>,
) -> anyhow::Result<()> {
    let profile = Profile::resolve(data_dir, connection)?;
    let client = profile.open_client(data_dir)?;
    let password = read_password()?;
    if register {
        let user_id = client
            .register(email, password.clone())
            .await
            .context("registration failed")?;
        say!("registered {email} as user {user_id}");
    }
    match client.login(email, password).await {
        Ok(()) => {}
        Err(ClientError::MfaRequired { methods }) => {
            crate::mfa_command::complete_login(&client, &methods, mfa_method).await?;
        }
        Err(error) => return Err(anyhow::Error::new(error).context("login failed")),
    }
    profile.save(data_dir)?;
    say!("logged in as {email} at {}", profile.server_url);
    Ok(())
}

/// Reads the password from `SHAREPAY_PASSWORD`, or else from the first
/// line of standard input.
fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(password) = std::env::var(PASSWORD_VARIABLE) {
        return Ok(SecretString::from(password));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("missing password: set {PASSWORD_VARIABLE} or write it on standard input");
    }
    Ok(SecretString::from(password.to_owned()))
}

/// Ends the session on the server and wipes it here.
pub async fn logout(client: &SharePayClient) -> anyhow::Result<()> {
    if client.logout().await? {
        say!("logged out; the session ended on the server and was wiped here");
    } else {
        say!(
            "logged out here; the server could not be told, so the session ends there when it expires"
        );
    }
    Ok(())
}

/// Sends the queued readings and prints the counts.
pub async fn sync(client: &SharePayClient) -> anyhow::Result<()> {
    let summary = client.sync_now().await.context("sync failed")?;
    say!(
        "sync: accepted {}, flagged {}, rejected {}, still queued {}",
        summary.accepted,
        summary.flagged,
        summary.rejected,
        summary.pending
    );
    if summary.authentication_required {
        bail!("not signed in, or the session was ended on the server; run `sharepay login` again");
    }
    let state = client.sync_state()?;
    if let Some(error) = state.last_error.filter(|_| state.pending > 0) {
        say!("  last error of the oldest queued reading: {error}");
    }
    Ok(())
}

/// Prints the user's sessions, oldest first.
pub async fn list_sessions(client: &SharePayClient) -> anyhow::Result<()> {
    let sessions = client.sessions().await?;
    say!("{}", crate::count(sessions.len(), "session"));
    for session in sessions {
        let marker = if session.current {
            " (this device)"
        } else {
            ""
        };
        say!(
            "  {}{marker}: last seen {} from {}, expires {}",
            session.id,
            session.last_seen_at,
            session.ip_address.as_deref().unwrap_or("unknown address"),
            session.expires_at
        );
    }
    Ok(())
}

pub async fn end_session(client: &SharePayClient, session_id: &str) -> anyhow::Result<()> {
    client
        .end_session(session_id)
        .await
        .with_context(|| format!("cannot end session {session_id}"))?;
    say!("ended session {session_id}");
    Ok(())
}

pub async fn end_other_sessions(client: &SharePayClient) -> anyhow::Result<()> {
    let ended = client.end_other_sessions().await?;
    say!(
        "ended {} other {}; this one stays",
        ended,
        crate::noun(usize::try_from(ended).unwrap_or(usize::MAX), "session")
    );
    Ok(())
}
