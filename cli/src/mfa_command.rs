//! `sharepay mfa ...` and the second check of `sharepay login`: TOTP
//! enrollment, recovery codes, the factor list, removing a factor and
//! step-up checks.
//!
//! Codes are read from `SHAREPAY_MFA_CODE` or from standard input, never
//! from the command line, where other users of the machine could see them
//! in the process list. Prompts go to standard error, so standard output
//! carries only results. The terminal has no passkey authenticator, so
//! `webauthn` is never chosen here.

use std::future::Future;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use sharepay_client::passkey::PASSKEY_METHOD;
use sharepay_client::{ClientError, RecoveryCodes, SharePayClient};
use zeroize::Zeroizing;

/// Environment variable that may carry the MFA code, for scripts.
pub const CODE_VARIABLE: &str = "SHAREPAY_MFA_CODE";

/// Methods whose code the server sends, so the terminal requests one first.
const SENT_CODE_METHODS: [&str; 2] = ["email_code", "sms_code"];

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Lists your second factors, passkeys and the methods that can pass a
    /// check.
    List,
    /// Authenticator app (TOTP) codes.
    #[command(subcommand)]
    Totp(TotpCommand),
    /// Replaces your recovery codes with ten new ones and prints them once.
    /// Needs TOTP or a verified phone.
    RecoveryCodes,
    /// Removes a second factor.
    #[command(subcommand)]
    Remove(RemoveCommand),
    /// Passes a step-up check for this session, which changes such as
    /// enrolling a factor need. The code is read from SHAREPAY_MFA_CODE or
    /// standard input.
    StepUp {
        /// totp, email_code, sms_code or recovery_code. Without it, the
        /// method is read from standard input when several are possible.
        #[arg(long, value_name = "METHOD")]
        method: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Creates a TOTP secret, prints its otpauth:// URI and base32 form,
    /// reads the first code from the app (SHAREPAY_MFA_CODE or standard
    /// input) to enable it, and prints the recovery codes once.
    Enroll {
        /// Also write the QR code of the URI to this PNG file.
        #[arg(long, value_name = "FILE")]
        qr_png: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RemoveCommand {
    /// Disables TOTP.
    Totp,
    /// Removes a passkey or security key by the id `sharepay mfa list`
    /// prints.
    Passkey { credential_id: String },
}

/// Runs one `sharepay mfa` command.
pub async fn run(client: &SharePayClient, command: MfaCommand) -> anyhow::Result<()> {
    match command {
        MfaCommand::List => list(client).await,
        MfaCommand::Totp(TotpCommand::Enroll { qr_png }) => {
            enroll_totp(client, qr_png.as_deref()).await
        }
        MfaCommand::RecoveryCodes => {
            let codes = with_step_up(client, || client.regenerate_recovery_codes()).await?;
            print_recovery_codes(&codes);
            Ok(())
        }
        MfaCommand::Remove(RemoveCommand::Totp) => {
            with_step_up(client, || client.disable_totp()).await?;
            say!("TOTP is disabled");
            Ok(())
        }
        MfaCommand::Remove(RemoveCommand::Passkey { credential_id }) => {
            with_step_up(client, || client.remove_passkey(&credential_id)).await?;
            say!("removed passkey {credential_id}");
            Ok(())
        }
        MfaCommand::StepUp { method } => {
            let factors = client.mfa_factors().await?;
            step_up(client, &factors.methods, method.as_deref()).await
        }
    }
}

async fn list(client: &SharePayClient) -> anyhow::Result<()> {
    let factors = client.mfa_factors().await?;
    let state = |on: bool| if on { "enabled" } else { "off" };
    say!("totp: {}", state(factors.totp_enabled));
    say!(
        "email: {}",
        if factors.email_verified {
            "verified"
        } else {
            "not verified"
        }
    );
    say!(
        "phone: {}",
        if factors.phone_verified {
            "verified"
        } else {
            "none"
        }
    );
    say!("recovery codes left: {}", factors.recovery_codes_left);
    say!("{}", crate::count(factors.passkeys.len(), "passkey"));
    for passkey in &factors.passkeys {
        say!(
            "  {}: {} ({}), added {}, last used {}",
            passkey.id,
            passkey.name,
            passkey.kind,
            passkey.created_at,
            passkey.last_used_at.as_deref().unwrap_or("never")
        );
    }
    say!("methods: {}", factors.methods.join(", "));
    Ok(())
}

async fn enroll_totp(client: &SharePayClient, qr_png: Option<&Path>) -> anyhow::Result<()> {
    let enrollment = with_step_up(client, || client.start_totp_enrollment()).await?;
    say!("otpauth URI: {}", enrollment.otpauth_uri.expose_secret());
    say!("secret: {}", enrollment.secret.expose_secret());
    match (qr_png, &enrollment.qr_png_base64) {
        (Some(path), Some(qr)) => {
            let png = BASE64
                .decode(qr.expose_secret())
                .context("the server sent a QR code that is not valid base64")?;
            crate::private_files::write_private_file(path, &png)
                .with_context(|| format!("cannot write the QR code to {}", path.display()))?;
            say!("QR code written to {}", path.display());
        }
        (Some(_), None) => {
            eprintln!("the server sent no QR code; add the account with the URI or the secret")
        }
        (None, _) => {}
    }

    let code = read_code("enter the 6-digit code from your authenticator app to confirm")?;
    let codes = client
        .confirm_totp_enrollment(code)
        .await
        .context("TOTP was not enabled")?;
    say!("TOTP is enabled");
    print_recovery_codes(&codes);
    Ok(())
}

fn print_recovery_codes(codes: &RecoveryCodes) {
    say!(
        "{} recovery codes, shown only this once; keep them somewhere safe:",
        codes.codes.len()
    );
    for code in &codes.codes {
        say!("  {}", code.expose_secret());
    }
}

/// Runs `change`, and when the server requires a step-up check first,
/// passes one and runs `change` again.
pub(crate) async fn with_step_up<T, F, Fut>(client: &SharePayClient, change: F) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    match change().await {
        Err(ClientError::StepUpRequired { methods }) => {
            eprintln!("this change needs a recent second check");
            step_up(client, &methods, None).await?;
            Ok(change().await?)
        }
        other => Ok(other?),
    }
}

/// Passes a step-up check for this session with one of `methods`.
async fn step_up(
    client: &SharePayClient,
    methods: &[String],
    requested: Option<&str>,
) -> anyhow::Result<()> {
    let method = choose_method(methods, requested, "--method")?;
    if SENT_CODE_METHODS.contains(&method.as_str()) {
        let sent = client.send_step_up_code(&method).await?;
        eprintln!(
            "sent a code by {}; it expires at {}",
            sent.channel, sent.expires_at
        );
    }
    let code = read_code(&code_prompt(&method))?;
    let passed = client
        .step_up(&method, code)
        .await
        .context("the step-up check failed")?;
    eprintln!(
        "step-up check passed; changes are allowed until {}",
        passed.valid_until
    );
    Ok(())
}

/// Passes the second check of the login waiting in `client`.
pub async fn complete_login(
    client: &SharePayClient,
    methods: &[String],
    requested: Option<&str>,
) -> anyhow::Result<()> {
    eprintln!("this login needs a second check");
    let method = choose_method(methods, requested, "--mfa-method")?;
    if SENT_CODE_METHODS.contains(&method.as_str()) {
        client
            .send_mfa_code(&method)
            .await
            .with_context(|| format!("cannot send a {method}"))?;
        eprintln!("sent a code for {method}");
    }
    let code = read_code(&code_prompt(&method))?;
    client
        .complete_mfa(&method, code)
        .await
        .context("the second check failed")
}

/// Returns the prompt for the code of `method`, naming where the code comes
/// from.
fn code_prompt(method: &str) -> String {
    match method {
        "email_code" => "enter the code from the email".to_owned(),
        "sms_code" => "enter the code from the text message".to_owned(),
        "totp" => "enter the 6-digit code from your authenticator app".to_owned(),
        "recovery_code" => "enter one of your recovery codes".to_owned(),
        other => format!("enter the code for {other}"),
    }
}

/// Picks the method: `requested` if the server offers it, the only one the
/// terminal can use, or the user's choice from standard input. `flag` is
/// the option that gives the method on this command.
fn choose_method(
    methods: &[String],
    requested: Option<&str>,
    flag: &str,
) -> anyhow::Result<String> {
    let usable: Vec<&String> = methods
        .iter()
        .filter(|method| *method != PASSKEY_METHOD)
        .collect();
    if let Some(requested) = requested {
        if requested == PASSKEY_METHOD {
            bail!("this terminal has no passkey authenticator; use the phone app for webauthn");
        }
        if !usable.iter().any(|method| *method == requested) {
            bail!(
                "method {requested:?} is not available for this account; use one of: {}",
                join(&usable)
            );
        }
        return Ok(requested.to_owned());
    }
    match usable.as_slice() {
        [] => bail!(
            "this account can only pass the check with a passkey, which this terminal \
             cannot use; use the phone app"
        ),
        [only] => Ok((*only).clone()),
        several => {
            let answer = read_line(&format!("choose a method ({})", join(several)))?;
            let chosen = answer.trim();
            if !several.iter().any(|method| *method == chosen) {
                bail!(
                    "method {chosen:?} is not one of: {}; give it with {flag} or on \
                     standard input",
                    join(several)
                );
            }
            Ok(chosen.to_owned())
        }
    }
}

fn join(methods: &[&String]) -> String {
    methods
        .iter()
        .map(|method| method.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a code from `SHAREPAY_MFA_CODE`, or else from the next line of
/// standard input after printing `prompt` to standard error.
///
/// NOTE: a command that passes a step-up check and then reads a code of its
/// own, such as `mfa totp enroll`, reads `SHAREPAY_MFA_CODE` for both. A
/// script should run `sharepay mfa step-up` first, then the command.
fn read_code(prompt: &str) -> anyhow::Result<SecretString> {
    if let Ok(code) = std::env::var(CODE_VARIABLE) {
        return Ok(SecretString::from(code));
    }
    let line = read_line(prompt)?;
    let code = line.trim();
    if code.is_empty() {
        bail!("missing code: set {CODE_VARIABLE} or write the code on standard input");
    }
    Ok(SecretString::from(code.to_owned()))
}

fn read_line(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    eprint!("{prompt}: ");
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read standard input")?;
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_prompt_names_source() {
        assert_eq!(code_prompt("email_code"), "enter the code from the email");
        assert_eq!(
            code_prompt("sms_code"),
            "enter the code from the text message"
        );
        assert_eq!(
            code_prompt("totp"),
            "enter the 6-digit code from your authenticator app"
        );
        assert_eq!(
            code_prompt("recovery_code"),
            "enter one of your recovery codes"
        );
    }

    #[test]
    fn requested_method_must_be_offered() {
        let methods = vec!["totp".to_owned(), "email_code".to_owned()];

        let chosen = choose_method(&methods, Some("email_code"), "--mfa-method");
        let missing = choose_method(&methods, Some("sms_code"), "--mfa-method");

        assert_eq!(chosen.expect("offered method"), "email_code");
        let message = missing.expect_err("method not offered").to_string();
        assert!(message.contains("totp, email_code"), "{message}");
    }
}
