//! Ledger accounts and their stable storage codes.
//!
//! A code is stored in the database and must never change meaning: add new
//! variants with new codes, and never rename an existing one.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::LedgerError;
use crate::ids::{HouseholdId, UserId};
use crate::money::Currency;

const PARTICIPANT_RECEIVABLE: &str = "participant_receivable";
const PRIMARY_PAYER_SETTLEMENT: &str = "primary_payer_settlement";
const PROCESSOR_CLEARING: &str = "processor_clearing";

/// An account in one household's ledger for one currency.
///
/// A debit balance is positive: on a participant receivable it is money the
/// participant owes, on processor clearing it is money the processor has captured
/// and not paid out.
/// A credit balance on a primary-payer settlement account is money the
/// household owes the primary payer, who paid the provider's bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum LedgerAccount {
    /// The amount one participant owes for their charges, net of payments.
    ParticipantReceivable { participant: UserId },
    /// The amount the household owes one primary payer, net of settlements paid out.
    PrimaryPayerSettlement { primary_payer: UserId },
    /// Money captured by the card processor and not yet paid out.
    ProcessorClearing,
}

impl LedgerAccount {
    /// Formats the storage code: `participant_receivable:<uuid>`,
    /// `primary_payer_settlement:<uuid>` or `processor_clearing`, with the
    /// UUID in lowercase hyphenated form.
    pub fn code(&self) -> String {
        match self {
            LedgerAccount::ParticipantReceivable { participant } => {
                format!("{PARTICIPANT_RECEIVABLE}:{}", participant.0.hyphenated())
            }
            LedgerAccount::PrimaryPayerSettlement { primary_payer } => {
                format!(
                    "{PRIMARY_PAYER_SETTLEMENT}:{}",
                    primary_payer.0.hyphenated()
                )
            }
            LedgerAccount::ProcessorClearing => PROCESSOR_CLEARING.to_owned(),
        }
    }

    /// Parses a code written by [`LedgerAccount::code`].
    ///
    /// Only the exact form that `code` writes is accepted, so one account has
    /// one code and a unique index on the code column cannot be bypassed with
    /// an uppercase or braced UUID.
    pub fn parse_code(code: &str) -> Result<LedgerAccount, LedgerError> {
        let invalid = |reason: &'static str| LedgerError::InvalidAccountCode {
            code: code.to_owned(),
            reason,
        };

        let (kind, user) = match code.split_once(':') {
            Some((kind, user)) => (kind, Some(user)),
            None => (code, None),
        };
        let account = match (kind, user) {
            (PROCESSOR_CLEARING, None) => LedgerAccount::ProcessorClearing,
            (PROCESSOR_CLEARING, Some(_)) => {
                return Err(invalid("processor_clearing takes no user id"));
            }
            (PARTICIPANT_RECEIVABLE, Some(user)) => LedgerAccount::ParticipantReceivable {
                participant: parse_user(user).ok_or_else(|| invalid(USER_ID_HINT))?,
            },
            (PRIMARY_PAYER_SETTLEMENT, Some(user)) => LedgerAccount::PrimaryPayerSettlement {
                primary_payer: parse_user(user).ok_or_else(|| invalid(USER_ID_HINT))?,
            },
            (PARTICIPANT_RECEIVABLE | PRIMARY_PAYER_SETTLEMENT, None) => {
                return Err(invalid("the account kind needs ':' and a user id after it"));
            }
            _ => {
                return Err(invalid(
                    "the account kind must be participant_receivable, \
                     primary_payer_settlement or processor_clearing",
                ));
            }
        };
        Ok(account)
    }

    /// Returns the user this account belongs to, if it belongs to one.
    pub fn user(&self) -> Option<UserId> {
        match self {
            LedgerAccount::ParticipantReceivable { participant } => Some(*participant),
            LedgerAccount::PrimaryPayerSettlement { primary_payer } => Some(*primary_payer),
            LedgerAccount::ProcessorClearing => None,
        }
    }
}

const USER_ID_HINT: &str = "the user id must be a lowercase hyphenated UUID";

/// Parses a UUID only in the lowercase hyphenated form that `code` writes.
fn parse_user(text: &str) -> Option<UserId> {
    let uuid = Uuid::parse_str(text).ok()?;
    let canonical = uuid.hyphenated().to_string();
    (canonical == text).then_some(UserId(uuid))
}

impl fmt::Display for LedgerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl FromStr for LedgerAccount {
    type Err = LedgerError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        LedgerAccount::parse_code(code)
    }
}

impl From<LedgerAccount> for String {
    fn from(account: LedgerAccount) -> String {
        account.code()
    }
}

impl TryFrom<String> for LedgerAccount {
    type Error = LedgerError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        LedgerAccount::parse_code(&code)
    }
}

/// The full identity of an account: household, currency and account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey {
    pub household: HouseholdId,
    pub currency: Currency,
    pub account: LedgerAccount,
}

/// Orders by household, then currency code, then account, so reports list
/// accounts in the same order on every run.
impl Ord for AccountKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.household
            .cmp(&other.household)
            .then_with(|| self.currency.code().cmp(other.currency.code()))
            .then_with(|| self.account.cmp(&other.account))
    }
}

impl PartialOrd for AccountKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: UserId = UserId::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);

    #[test]
    fn codes_round_trip() {
        let accounts = [
            LedgerAccount::ParticipantReceivable { participant: USER },
            LedgerAccount::PrimaryPayerSettlement {
                primary_payer: USER,
            },
            LedgerAccount::ProcessorClearing,
        ];
        for account in accounts {
            let code = account.code();
            assert_eq!(LedgerAccount::parse_code(&code), Ok(account), "{code}");
        }
    }

    #[test]
    fn codes_have_fixed_text() {
        let receivable = LedgerAccount::ParticipantReceivable { participant: USER };
        assert_eq!(
            receivable.code(),
            "participant_receivable:12345678-9abc-def0-1234-56789abcdef0"
        );
        assert_eq!(
            LedgerAccount::ProcessorClearing.code(),
            "processor_clearing"
        );
    }

    #[test]
    fn non_canonical_codes_are_rejected() {
        let cases = [
            "",
            "processor_clearing:",
            "processor_clearing:12345678-9abc-def0-1234-56789abcdef0",
            "participant_receivable",
            "participant_receivable:",
            "participant_receivable:12345678-9ABC-DEF0-1234-56789ABCDEF0",
            "participant_receivable:123456789abcdef0123456789abcdef0",
            "participant_receivable:{12345678-9abc-def0-1234-56789abcdef0}",
            "Processor_Clearing",
            "refunds_payable",
        ];
        for code in cases {
            let result = LedgerAccount::parse_code(code);
            assert!(
                matches!(result, Err(LedgerError::InvalidAccountCode { .. })),
                "{code:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn serde_uses_the_code() {
        let account = LedgerAccount::PrimaryPayerSettlement {
            primary_payer: USER,
        };
        let json = serde_json::to_string(&account).expect("serialize");
        assert_eq!(
            json,
            "\"primary_payer_settlement:12345678-9abc-def0-1234-56789abcdef0\""
        );
        let back: LedgerAccount = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, account);
        assert!(serde_json::from_str::<LedgerAccount>("\"cash\"").is_err());
    }
}
