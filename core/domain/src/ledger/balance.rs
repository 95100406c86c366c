//! Account balances folded from transactions, and the trial balance.

use std::collections::BTreeMap;

use super::{AccountKey, LedgerAccount, LedgerError, LedgerTransaction};
use crate::ids::HouseholdId;
use crate::money::{Currency, Money};

/// The balance of every account that has postings, debit positive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    accounts: BTreeMap<AccountKey, Money>,
}

/// Totals of one household's accounts in one currency.
///
/// `debits` adds up the accounts with a debit balance and `credits` the
/// magnitudes of those with a credit balance. They are equal whenever every
/// transaction balanced, which [`LedgerTransaction`] guarantees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrialBalance {
    pub household: HouseholdId,
    pub currency: Currency,
    pub debits: Money,
    pub credits: Money,
}

impl TrialBalance {
    /// Debits minus credits: zero in a sound ledger.
    pub fn difference(&self) -> Result<Money, LedgerError> {
        Ok(self.debits.checked_sub(self.credits)?)
    }
}

impl Balances {
    /// Folds `transactions`, in any order, into balances.
    pub fn from_transactions<'a, I>(transactions: I) -> Result<Balances, LedgerError>
    where
        I: IntoIterator<Item = &'a LedgerTransaction>,
    {
        let mut balances = Balances::default();
        for transaction in transactions {
            balances.apply(transaction)?;
        }
        Ok(balances)
    }

    /// Adds one transaction's postings. On an overflow error the balances
    /// may hold part of the transaction, so discard them.
    pub fn apply(&mut self, transaction: &LedgerTransaction) -> Result<(), LedgerError> {
        let currency = transaction.currency();
        for posting in transaction.postings() {
            let key = AccountKey {
                household: transaction.household(),
                currency,
                account: posting.account,
            };
            let change = Money::from_minor(posting.signed_minor(), currency);
            let balance = self.accounts.entry(key).or_insert(Money::zero(currency));
            *balance = balance.checked_add(change)?;
        }
        Ok(())
    }

    /// Returns the balance of one account, which is zero for an account without postings.
    pub fn balance(
        &self,
        household: HouseholdId,
        currency: Currency,
        account: LedgerAccount,
    ) -> Money {
        let key = AccountKey {
            household,
            currency,
            account,
        };
        self.accounts
            .get(&key)
            .copied()
            .unwrap_or(Money::zero(currency))
    }

    /// Lists every account with postings, in [`AccountKey`] order.
    pub fn iter(&self) -> impl Iterator<Item = (AccountKey, Money)> + '_ {
        self.accounts.iter().map(|(key, balance)| (*key, *balance))
    }

    /// Computes one trial balance per household and currency, in key order.
    pub fn trial_balance(&self) -> Result<Vec<TrialBalance>, LedgerError> {
        let mut books: BTreeMap<(HouseholdId, &'static str), TrialBalance> = BTreeMap::new();
        for (key, balance) in self.iter() {
            let total = books
                .entry((key.household, key.currency.code()))
                .or_insert(TrialBalance {
                    household: key.household,
                    currency: key.currency,
                    debits: Money::zero(key.currency),
                    credits: Money::zero(key.currency),
                });
            if balance.is_negative() {
                total.credits = total.credits.checked_sub(balance)?;
            } else {
                total.debits = total.debits.checked_add(balance)?;
            }
        }
        Ok(books.into_values().collect())
    }
}
