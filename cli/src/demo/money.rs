//! The money part of the story: the electricity bill split by consumption
//! and approved, the participants' cards saved at the vault and their
//! shares paid, and the statements that show every participant's balance
//! settled.

use anyhow::{Context, bail};
use secrecy::SecretString;
use sharepay_client::{ClientError, NewCard};
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::wire::billing::{BillMemberBody, BillRequest, ChargeStatus};
use sharepay_domain::wire::money::MoneyBody;
use sharepay_domain::wire::payments::{PaymentStatus, StatementResponse};
use sharepay_domain::wire::split::SplitMode;

use super::detail;
use super::household::House;
use super::mailbox::Mailbox;
use super::mfa::step_up_by_email;
use super::people::Person;

const CURRENCY: &str = "EUR";
const PROVIDER: &str = "Paris Power & Light";
/// The bill covers one UTC day, which the reader's readings (00:00 local
/// time on 1 February to 23:59 on 2 February, UTC+1) cover completely.
const BILL_DAY: &str = "2007-02-01";
/// The whole bill and its standing charge, in cents.
const BILL_MINOR: i64 = 642;
const STANDING_CHARGE_MINOR: i64 = 120;

/// A test card that the embedded vault's sandbox processor declines for
/// insufficient funds.
const DECLINED_CARD: &str = "4000000000009995";
/// One card per participant, in the order of the units. The sandbox
/// approves every valid number other than its listed test cards.
const APPROVED_CARDS: [&str; 3] = ["4242424242424242", "5555555555554444", "4012888888881881"];
const CARD_CVC: &str = "739";
const CARD_EXPIRY_MONTH: u8 = 12;
const CARD_EXPIRY_YEAR: u16 = 2030;

/// An approved bill.
pub struct ApprovedBill {
    pub bill_id: String,
}

/// Enters the electricity bill as the primary payer, prints each unit's
/// share of the consumption split with its explanation, and approves it.
///
/// Each participant's usage is their unit's sub-meter. The shared meter
/// is on the bill but measures no member, so the shared part is paid in
/// proportion to the units' metered use.
// NOTE: the split engine has no rule that divides one meter's usage
// equally among members, so the shared part cannot be split equally yet.
pub async fn enter_and_approve_bill(
    payer: &Person,
    house: &House,
    participants: &[Person],
) -> anyhow::Result<ApprovedBill> {
    let members = house
        .unit_meters()
        .zip(participants)
        .map(|(meter, participant)| BillMemberBody {
            user_id: participant.user_id.clone(),
            included: None,
            shares: None,
            basis_points: None,
            amount: None,
            meter_ids: Some(vec![meter.meter_id.clone()]),
        })
        .collect();
    let request = BillRequest {
        amount: euros(BILL_MINOR),
        period_start: BILL_DAY.to_owned(),
        period_end: BILL_DAY.to_owned(),
        provider: PROVIDER.to_owned(),
        standing_charge: Some(euros(STANDING_CHARGE_MINOR)),
        meter_ids: house
            .meters
            .iter()
            .map(|meter| meter.meter_id.clone())
            .collect(),
        split_mode: SplitMode::Consumption,
        members,
    };
    let bill = payer
        .client
        .add_bill(&house.household_id, &request)
        .await
        .context("entering the bill failed")?;
    detail(&format!(
        "bill {} from {PROVIDER} for {BILL_DAY}: {}, standing charge {}",
        bill.bill_id,
        format_money(&bill.amount)?,
        format_money(&bill.standing_charge)?
    ));

    let split = payer
        .client
        .bill_split(&bill.bill_id)
        .await
        .context("reading the proposed split failed")?;
    let mut total = 0;
    for (participant, meter) in participants.iter().zip(house.unit_meters()) {
        let line = split
            .split
            .lines
            .iter()
            .find(|line| line.member_id == participant.user_id)
            .with_context(|| format!("the split has no line for {}", participant.email))?;
        let usage = split
            .usage
            .iter()
            .find(|usage| usage.user_id == participant.user_id);
        let usage_text = match usage {
            Some(usage) if usage.complete => format!("{} kWh", usage.usage),
            Some(usage) => format!("{} kWh, readings do not cover the whole day", usage.usage),
            None => "no usage".to_owned(),
        };
        detail(&format!(
            "{} ({usage_text}): {}. {}",
            meter.label(),
            format_money(&line.amount)?,
            line.explanation
        ));
        total += line.amount.minor;
    }
    if total != BILL_MINOR {
        bail!("the split's lines add up to {total} cents instead of {BILL_MINOR}");
    }

    let approved = payer
        .client
        .approve_bill(&bill.bill_id)
        .await
        .context("approving the bill failed")?;
    if !approved.frozen {
        bail!("the approved split of bill {} is not frozen", bill.bill_id);
    }
    detail("the primary payer approved the split: it is frozen and each unit has a charge");
    Ok(ApprovedBill {
        bill_id: bill.bill_id,
    })
}

/// Has each participant save a card at the vault, after the step-up check
/// the server requires, and pay their charge. The third participant's
/// first card is declined, and they pay with a second card.
pub async fn pay_shares(
    participants: &[Person],
    mailbox: &Mailbox,
    bill: &ApprovedBill,
) -> anyhow::Result<()> {
    for (index, participant) in participants.iter().enumerate() {
        let charges = participant
            .client
            .my_charges()
            .await
            .with_context(|| format!("listing the charges of {} failed", participant.email))?;
        let charge = charges
            .iter()
            .find(|charge| charge.bill_id == bill.bill_id && charge.status == ChargeStatus::Open)
            .with_context(|| format!("{} has no open charge for the bill", participant.email))?;
        detail(&format!(
            "{} owes {} (charge {})",
            participant.role_label,
            format_money(&charge.amount)?,
            charge.charge_id
        ));

        step_up_by_email(participant, mailbox).await?;
        let last_participant = index + 1 == participants.len();
        if last_participant {
            let declined = save_card(participant, DECLINED_CARD).await?;
            match participant
                .client
                .pay_charge(&charge.charge_id, &declined)
                .await
            {
                Err(ClientError::PaymentDeclined(reason)) => {
                    detail(&format!("the payment was declined: {reason}"));
                }
                Ok(payment) => bail!(
                    "the sandbox's declining card was charged (payment {})",
                    payment.payment_id
                ),
                Err(error) => {
                    return Err(error).context("paying with the declining card failed");
                }
            }
        }
        let card = save_card(participant, APPROVED_CARDS[index % APPROVED_CARDS.len()]).await?;
        let payment = participant
            .client
            .pay_charge(&charge.charge_id, &card)
            .await
            .with_context(|| format!("{} could not pay their charge", participant.email))?;
        if payment.status != PaymentStatus::Succeeded {
            bail!(
                "the payment of {} ended as {:?}",
                participant.email,
                payment.status
            );
        }
        detail(&format!(
            "{} paid {}: payment {}",
            participant.role_label,
            format_money(&payment.amount)?,
            payment.payment_id
        ));
    }
    Ok(())
}

/// Saves a card at the vault for `person` and returns the payment method
/// id. The card number and CVC stay in zeroizing buffers on the phone.
async fn save_card(person: &Person, number: &str) -> anyhow::Result<String> {
    let card = NewCard {
        number: SecretString::from(number.to_owned()),
        expiry_month: CARD_EXPIRY_MONTH,
        expiry_year: CARD_EXPIRY_YEAR,
        cvc: SecretString::from(CARD_CVC.to_owned()),
        cardholder_name: person.role_label.clone(),
    };
    let method = person
        .client
        .save_card(card)
        .await
        .with_context(|| format!("{} could not save a card", person.email))?;
    detail(&format!(
        "{} saved a {} card ending in {} at the vault: payment method {}",
        person.role_label, method.brand, method.last4, method.payment_method_id
    ));
    Ok(method.payment_method_id)
}

/// Reads every member's statement from the bill day to today. Fails unless
/// each participant's balance is settled and the participants' payments
/// cover what the household owes the primary payer.
pub async fn check_statements(
    payer: &Person,
    house: &House,
    participants: &[Person],
) -> anyhow::Result<()> {
    let mut paid_minor = 0;
    for participant in participants {
        let statement = read_statement(participant, house).await?;
        if !statement.settled {
            bail!(
                "the balance of {} is not settled: {}",
                participant.email,
                format_money(&statement.closing_balance)?
            );
        }
        paid_minor += statement
            .lines
            .iter()
            .filter(|line| line.kind == "payment")
            .map(|line| -line.amount.minor)
            .sum::<i64>();
    }

    // NOTE: the server records no payout to the primary payer yet, so their
    // settlement account keeps what the household owes them even after
    // every participant has paid.
    let statement = read_statement(payer, house).await?;
    let owed_minor = -statement.closing_balance.minor;
    if owed_minor != paid_minor {
        bail!(
            "the household owes the primary payer {} cents, but the participants paid {paid_minor}",
            owed_minor
        );
    }
    detail(&format!(
        "every participant's balance is settled, and their payments of {} cover what the \
         household owes the primary payer; the server has no payout to them yet",
        format_money(&euros(paid_minor))?
    ));
    Ok(())
}

/// Reads `member`'s statement in euros from the bill day to today and
/// prints it line by line.
async fn read_statement(member: &Person, house: &House) -> anyhow::Result<StatementResponse> {
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let statements = member
        .client
        .statements(&house.household_id, None, BILL_DAY, &today)
        .await
        .with_context(|| format!("reading the statement of {} failed", member.email))?;
    let statement = statements
        .into_iter()
        .find(|statement| statement.closing_balance.currency == CURRENCY)
        .with_context(|| format!("{} has no statement in {CURRENCY}", member.email))?;
    detail(&format!(
        "{} ({}): opening {}, closing {}{}",
        member.role_label,
        statement.account,
        format_money(&statement.opening_balance)?,
        format_money(&statement.closing_balance)?,
        if statement.settled { ", settled" } else { "" }
    ));
    for line in &statement.lines {
        detail(&format!(
            "  {} {}, balance {}",
            line.kind,
            format_money(&line.amount)?,
            format_money(&line.balance)?
        ));
    }
    Ok(statement)
}

fn euros(minor: i64) -> MoneyBody {
    MoneyBody {
        minor,
        currency: CURRENCY.to_owned(),
    }
}

fn format_money(body: &MoneyBody) -> anyhow::Result<String> {
    let currency = Currency::from_code(&body.currency)
        .with_context(|| format!("the server returned the unknown currency {}", body.currency))?;
    Ok(Money::from_minor(body.minor, currency).to_string())
}
