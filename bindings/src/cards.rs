//! Saved cards: a new card goes through the core's local checks straight to
//! the vault, and only its token and display data come back.

use secrecy::SecretString;
use sharepay_client::NewCard as CoreNewCard;
use sharepay_domain::wire::payments::PaymentMethodResponse;

use crate::{SharePayClient, SharePayError};

/// A card as the user typed it. The core moves the number and CVC into
/// zeroizing buffers at once and sends them only to the vault.
#[derive(uniffi::Record)]
pub struct NewCard {
    /// Digits; spaces and dashes between them are ignored.
    pub number: String,
    pub expiry_month: u8,
    /// Four-digit year.
    pub expiry_year: u16,
    pub cvc: String,
    pub cardholder_name: String,
}

/// A saved card's display data. The vault's token stays on the server, and
/// the app gets only the brand, the last four digits and the expiry.
#[derive(uniffi::Record)]
pub struct PaymentMethod {
    pub payment_method_id: String,
    pub brand: String,
    pub last4: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
    pub created_at: String,
}

#[uniffi::export(async_runtime = "tokio")]
impl SharePayClient {
    /// Checks a card, saves it at the vault and registers its token as a
    /// payment method. Needs a recent step-up check.
    pub async fn save_card(&self, card: NewCard) -> Result<PaymentMethod, SharePayError> {
        let card = CoreNewCard {
            number: SecretString::from(card.number),
            expiry_month: card.expiry_month,
            expiry_year: card.expiry_year,
            cvc: SecretString::from(card.cvc),
            cardholder_name: card.cardholder_name,
        };
        Ok(self.inner.save_card(card).await?.into())
    }

    /// Lists the signed-in user's saved cards.
    pub async fn payment_methods(&self) -> Result<Vec<PaymentMethod>, SharePayError> {
        let methods = self.inner.payment_methods().await?;
        Ok(methods.into_iter().map(PaymentMethod::from).collect())
    }

    /// Removes a saved card from the server and this device.
    pub async fn remove_card(&self, payment_method_id: String) -> Result<(), SharePayError> {
        Ok(self.inner.remove_card(&payment_method_id).await?)
    }
}

impl From<PaymentMethodResponse> for PaymentMethod {
    fn from(method: PaymentMethodResponse) -> Self {
        Self {
            payment_method_id: method.payment_method_id,
            brand: method.brand,
            last4: method.last4,
            expiry_month: method.expiry_month,
            expiry_year: method.expiry_year,
            created_at: method.created_at,
        }
    }
}
