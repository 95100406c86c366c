//! Card tokenization: saving a card at the vault, listing and removing
//! saved cards.
//!
//! The card number and CVC are checked on the phone (Luhn check digit,
//! brand, expiry against this device's clock, CVC length for the brand),
//! then posted only to the vault's pinned endpoint, never to the API. The
//! API registers the vault's token as a payment method, and the store
//! keeps only the token, brand, last four digits and expiry
//! ([`CardDisplay`]). This module must never persist, log or format the
//! card number or the CVC.

use std::fmt;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::card::{CardIntakeRequest, CardTokenResponse, YearMonth, validate_intake};
use sharepay_domain::wire::payments::{
    IntakeTokenResponse, PaymentMethodListResponse, PaymentMethodResponse,
    RegisterPaymentMethodRequest,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::SharePayClient;
use crate::api::{decode, decode_empty};
use crate::error::ClientError;
use crate::session::check_id;
use crate::store::CardDisplay;

/// A card as the user typed it. The number and CVC are zeroized on drop
/// and hidden from `Debug`.
pub struct NewCard {
    /// The card number; spaces and dashes between digits are ignored.
    pub number: SecretString,
    pub expiry_month: u8,
    /// Four-digit year.
    pub expiry_year: u16,
    pub cvc: SecretString,
    pub cardholder_name: String,
}

impl fmt::Debug for NewCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCard")
            .field("number", &"[redacted]")
            .field("expiry_month", &self.expiry_month)
            .field("expiry_year", &self.expiry_year)
            .field("cvc", &"[redacted]")
            .field("cardholder_name", &"[redacted]")
            .finish()
    }
}

/// Checks `card` on the phone against the month `today`, and returns the
/// vault's request body. Every failure is [`ClientError::InvalidInput`]
/// naming each offending field (`card_number`, `expiry_month`,
/// `expiry_year`, `cvc`, `cardholder_name`) and what to do; no message
/// repeats the number or the CVC.
pub fn check_card(card: &NewCard, today: YearMonth) -> Result<CardIntakeRequest, ClientError> {
    let request = CardIntakeRequest {
        number: card.number.expose_secret().to_owned(),
        expiry_month: i64::from(card.expiry_month),
        expiry_year: i64::from(card.expiry_year),
        cvc: card.cvc.expose_secret().to_owned(),
        cardholder_name: card.cardholder_name.clone(),
    };
    match validate_intake(&request, today) {
        Ok(_validated) => Ok(request),
        Err(errors) => {
            let messages: Vec<String> = errors
                .iter()
                .map(|error| {
                    // The vault calls the number `number`; the phone's
                    // callers pass it as the card number.
                    let field = match error.field.as_str() {
                        "number" => "card_number",
                        other => other,
                    };
                    format!("{field}: {}", error.message)
                })
                .collect();
            Err(ClientError::InvalidInput(messages.join("; ")))
        }
    }
}

impl SharePayClient {
    /// Saves a card. It checks the card on the phone and posts it straight
    /// to the vault with a single-use intake token from the API. Then it
    /// registers the vault's token with the API as a payment method and
    /// keeps the display data in the store.
    ///
    /// The API accepts a new payment method only from a session that passed
    /// an MFA check recently. Otherwise this returns
    /// [`ClientError::Forbidden`], and the user must pass a check and save
    /// the card again.
    pub async fn save_card(&self, card: NewCard) -> Result<PaymentMethodResponse, ClientError> {
        let vault = self.vault.clone().ok_or_else(|| {
            ClientError::InvalidInput(
                "no card vault is configured; set ClientConfig::vault to the vault's URL, CA \
                 and pins before saving a card"
                    .into(),
            )
        })?;
        let intake_body = check_card(&card, self.current_year_month()?)?;
        drop(card);

        let response = self
            .send_authorized(
                Method::POST,
                &["v1", "payment-methods", "intake-token"],
                None,
            )
            .await?;
        let intake: IntakeTokenResponse = decode(response).await?;
        let intake_token = SecretString::from(intake.intake_token);

        // NOTE: reqwest copies the body into a buffer that is freed without
        // being zeroized, so the number lingers in freed memory until reuse.
        let json = Zeroizing::new(serde_json::to_vec(&intake_body).map_err(|_| {
            ClientError::InvalidInput("the card could not be encoded for the vault".into())
        })?);
        drop(intake_body);
        let url = vault.url_with_segments(&["v1", "cards"])?;
        let response = vault
            .send_with_token(Method::POST, url, &intake_token, Some(&json), None)
            .await?;
        drop(json);
        let token: CardTokenResponse = decode(response).await?;

        let registration = RegisterPaymentMethodRequest {
            vault_token: token.token.clone(),
            brand: token.brand.slug().to_owned(),
            last4: token.last4.clone(),
            expiry_month: narrow("expiry_month", token.expiry_month)?,
            expiry_year: narrow("expiry_year", token.expiry_year)?,
        };
        // NOTE: when the API rejects this registration (for example for a
        // missing MFA check), the vault keeps a card token that no payment
        // method refers to. The phone cannot delete it at the vault.
        let method: PaymentMethodResponse = self
            .send_json_authorized(Method::POST, &["v1", "payment-methods"], &registration)
            .await?;

        let display = CardDisplay {
            card_token: registration.vault_token,
            brand: registration.brand,
            last4: registration.last4,
            expiry_month: registration.expiry_month,
            expiry_year: registration.expiry_year,
        };
        self.store
            .put_registered_card_display(&display, &method.payment_method_id)?;
        tracing::info!(payment_method_id = %method.payment_method_id, "saved a card");
        Ok(method)
    }

    /// Lists the signed-in user's saved cards, as the API stores them.
    pub async fn payment_methods(&self) -> Result<Vec<PaymentMethodResponse>, ClientError> {
        let list: PaymentMethodListResponse =
            self.get_authorized(&["v1", "payment-methods"]).await?;
        Ok(list.payment_methods)
    }

    /// Removes a saved card at the API (which deletes it at the vault too)
    /// and its display data in the store.
    pub async fn remove_card(&self, payment_method_id: &str) -> Result<(), ClientError> {
        check_id("payment_method_id", payment_method_id)?;
        let response = self
            .send_authorized(
                Method::DELETE,
                &["v1", "payment-methods", payment_method_id],
                None,
            )
            .await?;
        decode_empty(response).await?;
        self.store.delete_card_display(payment_method_id)?;
        Ok(())
    }

    /// Returns the current year and month on this client's clock, in UTC.
    fn current_year_month(&self) -> Result<YearMonth, ClientError> {
        let nanos = i128::from(self.clock.now_unix_ms()) * 1_000_000;
        let now = OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|_| ClientError::Platform("the device clock is out of range".into()))?;
        Ok(YearMonth {
            year: now.year(),
            month: u32::from(u8::from(now.month())),
        })
    }
}

/// Converts a number from the vault's response, naming `field` when it is
/// out of range.
fn narrow<T: TryFrom<S>, S: Copy + fmt::Display>(field: &str, value: S) -> Result<T, ClientError> {
    T::try_from(value).map_err(|_| ClientError::Server {
        status: 201,
        message: format!("the vault returned {field} {value}, which is out of range"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: YearMonth = YearMonth {
        year: 2026,
        month: 12,
    };

    fn card(number: &str, month: u8, year: u16, cvc: &str) -> NewCard {
        NewCard {
            number: SecretString::from(number.to_owned()),
            expiry_month: month,
            expiry_year: year,
            cvc: SecretString::from(cvc.to_owned()),
            cardholder_name: "Ada Lovelace".to_owned(),
        }
    }

    fn message(card: &NewCard) -> String {
        match check_card(card, TODAY) {
            Err(ClientError::InvalidInput(message)) => message,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn valid_card_passes_with_spaces() {
        let request = check_card(&card("4242 4242 4242 4242", 12, 2030, "123"), TODAY)
            .expect("a valid Visa card");

        assert_eq!(request.expiry_month, 12);
        assert_eq!(request.expiry_year, 2030);
    }

    #[test]
    fn check_digit_failure_names_card_number() {
        let text = message(&card("4242424242424241", 12, 2030, "123"));

        assert!(text.starts_with("card_number: "), "{text}");
        assert!(text.contains("check digit"), "{text}");
        assert!(!text.contains("424242"), "{text}");
    }

    #[test]
    fn letters_name_card_number() {
        let text = message(&card("4242x42424242424", 12, 2030, "123"));

        assert!(text.starts_with("card_number: "), "{text}");
        assert!(text.contains("only digits"), "{text}");
    }

    #[test]
    fn short_number_names_card_number() {
        let text = message(&card("42424242", 12, 2030, "123"));

        assert!(text.starts_with("card_number: "), "{text}");
        assert!(text.contains("8 digits"), "{text}");
    }

    #[test]
    fn unknown_brand_names_card_number() {
        // Luhn-valid, but 9 starts no supported brand.
        let text = message(&card("9000000000000001", 12, 2030, "123"));

        assert!(text.starts_with("card_number: "), "{text}");
        assert!(text.contains("brand"), "{text}");
    }

    #[test]
    fn month_out_of_range_names_expiry_month() {
        let text = message(&card("4242424242424242", 13, 2030, "123"));

        assert!(text.starts_with("expiry_month: "), "{text}");
        assert!(text.contains("1 to 12"), "{text}");
    }

    #[test]
    fn past_expiry_is_rejected() {
        let text = message(&card("4242424242424242", 11, 2026, "123"));

        assert!(text.starts_with("expiry_month: "), "{text}");
        assert!(text.contains("expired"), "{text}");

        let text = message(&card("4242424242424242", 12, 2025, "123"));
        assert!(text.starts_with("expiry_year: "), "{text}");
    }

    #[test]
    fn expiry_this_month_is_valid() {
        check_card(&card("4242424242424242", 12, 2026, "123"), TODAY)
            .expect("valid until the end of this month");
    }

    #[test]
    fn amex_needs_four_digit_cvc() {
        let text = message(&card("378282246310005", 12, 2030, "123"));

        assert!(text.starts_with("cvc: "), "{text}");
        assert!(text.contains("4 digits"), "{text}");
        check_card(&card("378282246310005", 12, 2030, "1234"), TODAY)
            .expect("an Amex card with a 4-digit CVC");
    }

    #[test]
    fn visa_and_mastercard_need_three_digit_cvc() {
        for number in ["4242424242424242", "5555555555554444"] {
            let text = message(&card(number, 12, 2030, "1234"));

            assert!(text.starts_with("cvc: "), "{text}");
            assert!(text.contains("3 digits"), "{text}");
        }
    }

    #[test]
    fn every_bad_field_is_listed() {
        let text = message(&card("4242424242424241", 0, 2030, "12"));

        assert!(text.contains("card_number: "), "{text}");
        assert!(text.contains("expiry_month: "), "{text}");
        assert!(text.contains("cvc: "), "{text}");
    }

    #[test]
    fn debug_hides_number_and_cvc() {
        let printed = format!("{:?}", card("4242424242424242", 12, 2030, "987"));

        assert!(!printed.contains("4242"), "{printed}");
        assert!(!printed.contains("987"), "{printed}");
    }
}
