//! A small household ledger shared by the ledger tests: one primary payer
//! and two participants, paying in EUR.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use sharepay_domain::ids::{HouseholdId, ResourceId, UserId};
use sharepay_domain::ledger::{
    Balances, ChargeFacts, ChargePosition, LedgerAccount, LedgerError, LedgerTransaction,
    PaymentAttempt, PaymentOutcome, RefundEffect, RefundRequest, post_charge_created, post_payment,
    post_refund,
};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::money::{Currency, Money};

pub const HOUSEHOLD: HouseholdId = HouseholdId::from_u128(0xAA);
pub const PAYER: UserId = UserId::from_u128(1);
pub const ALICE: UserId = UserId::from_u128(2);
pub const BOB: UserId = UserId::from_u128(3);
pub const AT: Timestamp = Timestamp(1_800_000_000);

pub fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::from_code("EUR").expect("EUR in table"))
}

pub fn id(value: u128) -> ResourceId {
    ResourceId::from_u128(value)
}

pub fn charge(charge: u128, participant: UserId, minor: i64) -> ChargeFacts {
    ChargeFacts {
        charge: id(charge),
        household: HOUSEHOLD,
        participant,
        primary_payer: PAYER,
        amount: eur(minor),
    }
}

pub fn receivable(participant: UserId) -> LedgerAccount {
    LedgerAccount::ParticipantReceivable { participant }
}

pub fn settlement() -> LedgerAccount {
    LedgerAccount::PrimaryPayerSettlement {
        primary_payer: PAYER,
    }
}

/// A ledger under test: transactions posted so far and a counter for ids.
pub struct Book {
    pub transactions: Vec<LedgerTransaction>,
    next_id: u128,
    /// The time that the next postings get.
    pub now: Timestamp,
}

impl Book {
    pub fn new() -> Book {
        Book {
            transactions: Vec::new(),
            next_id: 1_000,
            now: AT,
        }
    }

    pub fn next_id(&mut self) -> ResourceId {
        self.next_id += 1;
        id(self.next_id)
    }

    pub fn position(&self, facts: &ChargeFacts) -> ChargePosition {
        ChargePosition::from_history(facts, &self.transactions).expect("consistent history")
    }

    pub fn create(&mut self, facts: &ChargeFacts) {
        let transaction =
            post_charge_created(self.next_id(), self.now, facts).expect("charge posts");
        self.transactions.push(transaction);
    }

    pub fn pay(
        &mut self,
        facts: &ChargeFacts,
        payment: u128,
        minor: i64,
        outcome: PaymentOutcome,
    ) -> Result<Option<ResourceId>, LedgerError> {
        let position = self.position(facts);
        let attempt = PaymentAttempt {
            payment: id(payment),
            amount: eur(minor),
            outcome,
        };
        let transaction_id = self.next_id();
        let posted = post_payment(transaction_id, self.now, facts, &position, &attempt)?;
        let posted_id = posted.as_ref().map(LedgerTransaction::id);
        self.transactions.extend(posted);
        Ok(posted_id)
    }

    pub fn refund(
        &mut self,
        facts: &ChargeFacts,
        payment: u128,
        minor: i64,
        effect: RefundEffect,
    ) -> Result<(), LedgerError> {
        let position = self.position(facts);
        let request = RefundRequest {
            payment: id(payment),
            refund: self.next_id(),
            amount: eur(minor),
            effect,
        };
        let transaction = post_refund(self.next_id(), self.now, facts, &position, &request)?;
        self.transactions.push(transaction);
        Ok(())
    }

    pub fn balances(&self) -> Balances {
        Balances::from_transactions(&self.transactions).expect("balances fit")
    }

    pub fn balance(&self, account: LedgerAccount) -> i64 {
        let currency = Currency::from_code("EUR").expect("EUR in table");
        self.balances()
            .balance(HOUSEHOLD, currency, account)
            .minor()
    }

    pub fn assert_trial_balance_is_zero(&self) {
        for trial in self.balances().trial_balance().expect("totals fit") {
            let zero = Money::zero(trial.currency);
            assert_eq!(trial.difference(), Ok(zero), "{trial:?}");
        }
    }
}
