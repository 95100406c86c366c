//! Second checks in the demo: the primary payer's TOTP, enrolled at sign-up
//! with codes that totp-rs computes from the returned secret as an
//! authenticator app would, and step-up checks with emailed codes.

use anyhow::{Context, anyhow, bail};
use secrecy::{ExposeSecret, SecretString};
use sharepay_client::ClientError;
use totp_rs::Totp;

use super::detail;
use super::mailbox::Mailbox;
use super::people::Person;

/// The authenticator app on the primary payer's phone.
pub struct Authenticator {
    totp: Totp,
}

impl Authenticator {
    /// Returns the code of the current 30-second step.
    pub fn current_code(&self) -> anyhow::Result<SecretString> {
        Ok(self.code_at(unix_now()?))
    }

    /// Returns the code of the next step. The server accepts each step once
    /// per user and allows one step of clock skew, so a second check right
    /// after the first uses this code instead of waiting for the step to end.
    pub fn next_code(&self) -> anyhow::Result<SecretString> {
        Ok(self.code_at(unix_now()? + self.totp.step()))
    }

    fn code_at(&self, unix_seconds: u64) -> SecretString {
        SecretString::from(self.totp.generate(unix_seconds).to_string())
    }
}

fn unix_now() -> anyhow::Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}

/// Enrolls TOTP for `person` and confirms it with the first code. Passes
/// the step-up check by email first when the server requires one.
pub async fn enroll_totp(person: &Person, mailbox: &Mailbox) -> anyhow::Result<Authenticator> {
    let enrollment = match person.client.start_totp_enrollment().await {
        Ok(enrollment) => enrollment,
        Err(ClientError::StepUpRequired { methods }) => {
            detail(&format!(
                "enrolling TOTP needs a step-up check first (methods: {})",
                methods.join(", ")
            ));
            step_up_by_email(person, mailbox).await?;
            person
                .client
                .start_totp_enrollment()
                .await
                .context("starting the TOTP enrollment after the step-up check failed")?
        }
        Err(error) => return Err(error).context("starting the TOTP enrollment failed"),
    };
    let totp = Totp::from_url(enrollment.otpauth_uri.expose_secret())
        .map_err(|e| anyhow!("the otpauth URI from the server is invalid: {e}"))?;
    let authenticator = Authenticator { totp };

    let recovery_codes = person
        .client
        .confirm_totp_enrollment(authenticator.current_code()?)
        .await
        .context("confirming the TOTP enrollment failed")?;
    detail(&format!(
        "TOTP enabled: the authenticator computed the first code from the secret; \
         {} recovery codes issued (not printed)",
        recovery_codes.codes.len()
    ));
    Ok(authenticator)
}

/// Logs `person` out and in again, passing the login's second check with
/// a TOTP code.
pub async fn log_in_with_totp(
    person: &Person,
    password: &str,
    authenticator: &Authenticator,
) -> anyhow::Result<()> {
    person.client.logout().await.context("logging out failed")?;
    match person
        .client
        .login(&person.email, SecretString::from(password))
        .await
    {
        Err(ClientError::MfaRequired { methods }) => detail(&format!(
            "login needs a second check (methods: {})",
            methods.join(", ")
        )),
        Ok(()) => bail!(
            "{} logged in without a second check although TOTP is enabled",
            person.email
        ),
        Err(error) => return Err(error).context("logging in again failed"),
    }
    person
        .client
        .complete_mfa("totp", authenticator.next_code()?)
        .await
        .context("the TOTP code did not pass the login's second check")?;
    detail("second check passed with a TOTP code; signed in with MFA");
    Ok(())
}

/// Passes a step-up check for `person`'s session with a code the server
/// emails, read from the development mailbox.
pub async fn step_up_by_email(person: &Person, mailbox: &Mailbox) -> anyhow::Result<()> {
    let seen = mailbox.code_count(&person.email);
    person
        .client
        .send_step_up_code("email_code")
        .await
        .with_context(|| format!("requesting a step-up code for {} failed", person.email))?;
    let code = mailbox.wait_for_code(&person.email, seen).await?;
    let passed = person
        .client
        .step_up("email_code", code)
        .await
        .with_context(|| format!("the step-up check of {} failed", person.email))?;
    detail(&format!(
        "{} passed a step-up check with the code emailed to them, valid until {}",
        person.role_label, passed.valid_until
    ));
    Ok(())
}
