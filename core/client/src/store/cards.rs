//! Display data of the user's saved cards (brand, last four digits, expiry),
//! field-encrypted in `cards` and keyed by the vault's card token.
//!
//! The phone never stores a card number or a CVC: the vault keeps the
//! number and returns a token. This table must never gain a column for
//! either.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::EncryptedStore;
use super::field_cipher::FieldPlace;
use crate::error::ClientError;

/// Display data of a saved card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDisplay {
    /// The vault's token for the card; never the card number.
    pub card_token: String,
    /// Card brand, such as `visa`.
    pub brand: String,
    pub last4: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
}

impl std::fmt::Debug for CardDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDisplay")
            .field("card_token", &"[redacted]")
            .field("brand", &self.brand)
            .field("last4", &self.last4)
            .field("expiry_month", &self.expiry_month)
            .field("expiry_year", &self.expiry_year)
            .finish()
    }
}

fn place(card_token: &str) -> FieldPlace<'_> {
    FieldPlace {
        table: "cards",
        column: "display",
        row_key: card_token,
    }
}

impl EncryptedStore {
    /// Saves or replaces the display data of one card.
    pub fn put_card_display(&self, card: &CardDisplay) -> Result<(), ClientError> {
        self.put_card_display_for(card, None)
    }

    /// Saves or replaces the display data of a card that the API registered
    /// as the payment method `payment_method_id`.
    pub fn put_registered_card_display(
        &self,
        card: &CardDisplay,
        payment_method_id: &str,
    ) -> Result<(), ClientError> {
        self.put_card_display_for(card, Some(payment_method_id))
    }

    /// Deletes the display data of the card registered as
    /// `payment_method_id`, and returns whether there was one.
    pub fn delete_card_display(&self, payment_method_id: &str) -> Result<bool, ClientError> {
        let deleted = self.lock()?.execute(
            "DELETE FROM cards WHERE payment_method_id = ?1",
            params![payment_method_id],
        )?;
        Ok(deleted > 0)
    }

    fn put_card_display_for(
        &self,
        card: &CardDisplay,
        payment_method_id: Option<&str>,
    ) -> Result<(), ClientError> {
        if card.last4.len() != 4 || !card.last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ClientError::InvalidInput(
                "last4 must be exactly four digits".into(),
            ));
        }
        let json = Zeroizing::new(
            serde_json::to_vec(card)
                .map_err(|e| ClientError::Storage(format!("cannot encode the card: {e}")))?,
        );
        let sealed = self.fields().seal(place(&card.card_token), &json)?;
        let saved_at = crate::clock::now_rfc3339();
        self.lock()?.execute(
            "INSERT INTO cards (card_token, display, saved_at, payment_method_id)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(card_token) DO UPDATE SET
                 display = excluded.display,
                 payment_method_id = COALESCE(excluded.payment_method_id, payment_method_id)",
            params![card.card_token, sealed, saved_at, payment_method_id],
        )?;
        Ok(())
    }

    /// Lists the saved cards in the order they were saved.
    pub fn card_displays(&self) -> Result<Vec<CardDisplay>, ClientError> {
        let rows: Vec<(String, Vec<u8>)> = {
            let connection = self.lock()?;
            let mut statement = connection
                .prepare("SELECT card_token, display FROM cards ORDER BY saved_at, rowid")?;
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        rows.into_iter()
            .map(|(token, sealed)| {
                let json = self.fields().open(place(&token), &sealed)?;
                serde_json::from_slice(&json).map_err(|_| {
                    ClientError::StoreCorrupted(
                        "the display data of a saved card cannot be read; add the card again"
                            .into(),
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_card_token() {
        let card = CardDisplay {
            card_token: "tok_secret_value".into(),
            brand: "visa".into(),
            last4: "4242".into(),
            expiry_month: 1,
            expiry_year: 2031,
        };

        let printed = format!("{card:?}");
        assert!(!printed.contains("tok_secret_value"), "{printed}");
        assert!(printed.contains("4242"), "{printed}");
    }
}
