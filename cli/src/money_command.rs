//! `sharepay card ...`, `bill ...`, `split approve`, `charges`, `pay` and
//! `statements`: saved cards, bills and their splits, and payments.
//!
//! The card number and CVC are read from standard input, never from the
//! command line, where other users could read them in the process list.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{Context, bail};
use clap::Subcommand;
use secrecy::SecretString;
use sharepay_client::{NewCard, SharePayClient};
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::wire::billing::{BillMemberBody, BillRequest, BillResponse, ChargeResponse};
use sharepay_domain::wire::money::MoneyBody;
use sharepay_domain::wire::payments::PaymentMethodResponse;
use sharepay_domain::wire::split::{SplitLineBody, SplitMode};
use zeroize::Zeroizing;

use crate::mfa_command::with_step_up;

/// The money commands, merged into the top-level commands.
#[derive(Debug, Subcommand)]
pub enum MoneyCommand {
    /// Saved payment cards.
    #[command(subcommand)]
    Card(CardCommand),
    /// Bills of a household and their splits.
    #[command(subcommand)]
    Bill(BillCommand),
    /// Approval of a bill's split.
    #[command(subcommand)]
    Split(SplitCommand),
    /// Lists your charges, or with --household every charge of a household
    /// (primary payers only).
    Charges {
        #[arg(long, value_name = "HOUSEHOLD_ID")]
        household: Option<String>,
    },
    /// Pays the whole open amount of a charge with a saved card. Running it
    /// again after a failure reuses the first attempt's idempotency key, so
    /// the card is charged at most once.
    Pay {
        charge_id: String,
        /// Payment method id of the saved card, from `sharepay card list`.
        #[arg(long, value_name = "PAYMENT_METHOD_ID")]
        card: String,
    },
    /// Shows a member's statements in a household: opening balance, each
    /// movement and closing balance, one statement per currency.
    Statements {
        household_id: String,
        /// First day, YYYY-MM-DD, included.
        #[arg(long, value_name = "DATE")]
        from: String,
        /// Last day, YYYY-MM-DD, included.
        #[arg(long, value_name = "DATE")]
        to: String,
        /// User id of the member; you when absent.
        #[arg(long, value_name = "USER_ID")]
        member: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Saves a card at the card vault. Reads the card number from the first
    /// line of standard input and the CVC from the second. Needs the vault
    /// options (--vault, --vault-ca, --vault-pin) at login or here, and a
    /// recent MFA check in this session.
    Add {
        /// Expiry month, 1 to 12.
        #[arg(long)]
        expiry_month: u8,
        /// Expiry year, four digits.
        #[arg(long)]
        expiry_year: u16,
        /// The name on the card.
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// Lists your saved cards.
    List,
    /// Removes a saved card here, at the API and at the vault.
    Remove { payment_method_id: String },
}

#[derive(Debug, Subcommand)]
pub enum BillCommand {
    /// Records a bill in a household and prints its proposed split.
    Add {
        household_id: String,
        /// The whole bill as a decimal amount, such as 100.00.
        #[arg(long, value_name = "AMOUNT")]
        amount: String,
        /// ISO 4217 currency code.
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// The fixed part of the bill, as a decimal amount; zero when absent.
        #[arg(long, value_name = "AMOUNT")]
        standing_charge: Option<String>,
        /// First day of the billing period, YYYY-MM-DD, included.
        #[arg(long, value_name = "DATE")]
        period_start: String,
        /// Last day of the billing period, YYYY-MM-DD, included.
        #[arg(long, value_name = "DATE")]
        period_end: String,
        /// The utility or company that issued the bill.
        #[arg(long)]
        provider: String,
        /// equal or consumption.
        #[arg(long, default_value = "equal")]
        split: String,
        /// A member who shares the bill: USER_ID, or USER_ID=METER_ID,...
        /// with the meters that measure the member's use (consumption
        /// split). Give it once per member.
        #[arg(long = "member", value_name = "MEMBER", required = true)]
        members: Vec<String>,
    },
    /// Lists the bills of a household.
    List { household_id: String },
    /// Shows a bill and its split, with each member's explanation.
    Show { bill_id: String },
}

#[derive(Debug, Subcommand)]
pub enum SplitCommand {
    /// Approves a bill's split, which creates one charge per member share.
    Approve { bill_id: String },
}

/// Runs one money command.
pub async fn run(client: &SharePayClient, command: MoneyCommand) -> anyhow::Result<()> {
    match command {
        MoneyCommand::Card(command) => card(client, command).await,
        MoneyCommand::Bill(command) => bill(client, command).await,
        MoneyCommand::Split(SplitCommand::Approve { bill_id }) => {
            let split = client.approve_bill(&bill_id).await?;
            say!("approved bill {bill_id}; its split is frozen");
            print_split_lines(&split.split.lines);
            Ok(())
        }
        MoneyCommand::Charges { household } => charges(client, household.as_deref()).await,
        MoneyCommand::Pay { charge_id, card } => pay(client, &charge_id, &card).await,
        MoneyCommand::Statements {
            household_id,
            from,
            to,
            member,
        } => statements(client, &household_id, member.as_deref(), &from, &to).await,
    }
}

async fn card(client: &SharePayClient, command: CardCommand) -> anyhow::Result<()> {
    match command {
        CardCommand::Add {
            expiry_month,
            expiry_year,
            name,
        } => {
            if !client.has_vault() {
                bail!(
                    "no card vault is configured; run `sharepay login` again with --vault, \
                     --vault-ca and one --vault-pin per pin, from the server's start-up lines \
                     vault-listening, vault-ca-certificate and vault-spki-pin-sha256"
                );
            }
            // The lock is released before a step-up check reads its code.
            let (number, cvc) = {
                let mut input = std::io::stdin().lock();
                let number = read_secret_line(&mut input, "card number")?;
                (number, read_secret_line(&mut input, "CVC")?)
            };
            // A new card needs a recent second check. The first attempt
            // shows whether one is due.
            let method = with_step_up(client, || {
                client.save_card(NewCard {
                    number: number.clone(),
                    expiry_month,
                    expiry_year,
                    cvc: cvc.clone(),
                    cardholder_name: name.clone(),
                })
            })
            .await
            .context("saving the card failed")?;
            say!("saved card {}", describe_card(&method));
            Ok(())
        }
        CardCommand::List => {
            let methods = client.payment_methods().await?;
            say!("{}", crate::count(methods.len(), "saved card"));
            for method in &methods {
                say!("  {}", describe_card(method));
            }
            Ok(())
        }
        CardCommand::Remove { payment_method_id } => {
            client.remove_card(&payment_method_id).await?;
            say!("removed card {payment_method_id}");
            Ok(())
        }
    }
}

fn describe_card(method: &PaymentMethodResponse) -> String {
    format!(
        "{}: {} ending in {}, expires {:02}/{}",
        method.payment_method_id,
        method.brand,
        method.last4,
        method.expiry_month,
        method.expiry_year
    )
}

/// Reads one line of standard input as a secret, prompting on standard
/// error when the input is a terminal.
///
/// NOTE: the terminal echoes what is typed; pipe the values in to keep
/// them off the screen.
/// Longest line accepted for a card number or a CVC, spaces included.
const MAX_SECRET_LINE_BYTES: usize = 64;

fn read_secret_line(input: &mut impl BufRead, field: &str) -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        eprint!("{field}: ");
        std::io::stderr().flush().ok();
    }
    // The buffer never grows, so no copy of the secret is left behind in a
    // freed allocation, and a huge line cannot exhaust memory.
    let mut line = Zeroizing::new(String::with_capacity(MAX_SECRET_LINE_BYTES + 1));
    let read = Read::take(&mut *input, MAX_SECRET_LINE_BYTES as u64 + 1)
        .read_line(&mut line)
        .with_context(|| format!("cannot read the {field} from standard input"))?;
    if read > MAX_SECRET_LINE_BYTES {
        bail!(
            "the {field} line is longer than {MAX_SECRET_LINE_BYTES} characters; \
             write only the digits, one value per line"
        );
    }
    let value = line.trim();
    if value.is_empty() {
        bail!("missing {field}: write the card number and the CVC on standard input, one per line");
    }
    Ok(SecretString::from(value.to_owned()))
}

async fn bill(client: &SharePayClient, command: BillCommand) -> anyhow::Result<()> {
    match command {
        BillCommand::Add {
            household_id,
            amount,
            currency,
            standing_charge,
            period_start,
            period_end,
            provider,
            split,
            members,
        } => {
            let currency = Currency::from_code(&currency)
                .map_err(|e| anyhow::anyhow!("--currency {currency:?}: {e}"))?;
            let request = BillRequest {
                amount: parse_amount("--amount", &amount, currency)?,
                period_start,
                period_end,
                provider,
                standing_charge: standing_charge
                    .map(|text| parse_amount("--standing-charge", &text, currency))
                    .transpose()?,
                meter_ids: Vec::new(),
                split_mode: parse_split_mode(&split)?,
                members: Vec::new(),
            };
            let request = with_members(request, &members)?;
            let bill = client.add_bill(&household_id, &request).await?;
            say!("added bill {}", bill.bill_id);
            show_bill(client, &bill).await
        }
        BillCommand::List { household_id } => {
            let bills = client.bills(&household_id).await?;
            say!("{}", crate::count(bills.len(), "bill"));
            for bill in &bills {
                print_bill(bill);
            }
            Ok(())
        }
        BillCommand::Show { bill_id } => {
            let bill = client.bill(&bill_id).await?;
            show_bill(client, &bill).await
        }
    }
}

fn parse_amount(option: &str, text: &str, currency: Currency) -> anyhow::Result<MoneyBody> {
    let money = Money::parse(text, currency)
        .map_err(|e| anyhow::anyhow!("{option} {text:?}: {e}; write it like 100.00"))?;
    Ok(money.into())
}

/// Returns the wire name of a split mode, such as `consumption`.
fn split_mode_name(mode: SplitMode) -> String {
    serde_json::to_value(mode)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{mode:?}"))
}

fn parse_split_mode(text: &str) -> anyhow::Result<SplitMode> {
    match text {
        "equal" => Ok(SplitMode::Equal),
        "consumption" => Ok(SplitMode::Consumption),
        other => bail!("--split {other:?} is not supported here; use equal or consumption"),
    }
}

/// Adds each `--member` to the bill, and each member's meters to the bill's
/// meters.
fn with_members(mut request: BillRequest, members: &[String]) -> anyhow::Result<BillRequest> {
    for member in members {
        let (user_id, meters) = match member.split_once('=') {
            Some((user_id, meters)) => {
                let meters: Vec<String> = meters
                    .split(',')
                    .map(str::trim)
                    .filter(|meter| !meter.is_empty())
                    .map(str::to_owned)
                    .collect();
                (user_id.trim(), Some(meters))
            }
            None => (member.trim(), None),
        };
        if user_id.is_empty() {
            bail!("--member {member:?} has no user id; write USER_ID or USER_ID=METER_ID,...");
        }
        for meter in meters.iter().flatten() {
            if !request.meter_ids.contains(meter) {
                request.meter_ids.push(meter.clone());
            }
        }
        request.members.push(BillMemberBody {
            user_id: user_id.to_owned(),
            included: None,
            shares: None,
            basis_points: None,
            amount: None,
            meter_ids: meters,
        });
    }
    Ok(request)
}

async fn show_bill(client: &SharePayClient, bill: &BillResponse) -> anyhow::Result<()> {
    print_bill(bill);
    let split = client.bill_split(&bill.bill_id).await?;
    let state = if split.frozen { "frozen" } else { "proposed" };
    say!("  split ({state}):");
    print_split_lines(&split.split.lines);
    for usage in &split.usage {
        let coverage = if usage.complete {
            ""
        } else {
            " (readings do not cover the whole period)"
        };
        say!("    usage of {}: {}{coverage}", usage.user_id, usage.usage);
    }
    Ok(())
}

fn print_bill(bill: &BillResponse) {
    say!(
        "  {}: {} from {}, {} to {}, {} (standing charge {}), version {}, {:?}",
        bill.bill_id,
        format_money(&bill.amount),
        bill.provider,
        bill.period_start,
        bill.period_end,
        split_mode_name(bill.split_mode),
        format_money(&bill.standing_charge),
        bill.version,
        bill.status
    );
}

fn print_split_lines(lines: &[SplitLineBody]) {
    for line in lines {
        say!(
            "    {}: {} ({})",
            line.member_id,
            format_money(&line.amount),
            line.explanation
        );
    }
}

async fn charges(client: &SharePayClient, household: Option<&str>) -> anyhow::Result<()> {
    let charges = match household {
        Some(household_id) => client.household_charges(household_id).await?,
        None => client.my_charges().await?,
    };
    say!("{}", crate::count(charges.len(), "charge"));
    for charge in &charges {
        print_charge(charge);
    }
    Ok(())
}

fn print_charge(charge: &ChargeResponse) {
    say!(
        "  {}: {} owed by {} for bill {}, {:?}",
        charge.charge_id,
        format_money(&charge.amount),
        charge.user_id,
        charge.bill_id,
        charge.status
    );
}

async fn pay(client: &SharePayClient, charge_id: &str, card: &str) -> anyhow::Result<()> {
    let payment = client
        .pay_charge(charge_id, card)
        .await
        .with_context(|| format!("paying charge {charge_id} failed"))?;
    say!(
        "paid charge {}: {} with card {}, payment {} {:?}",
        payment.charge_id,
        format_money(&payment.amount),
        payment.payment_method_id,
        payment.payment_id,
        payment.status
    );
    Ok(())
}

async fn statements(
    client: &SharePayClient,
    household_id: &str,
    member: Option<&str>,
    from: &str,
    to: &str,
) -> anyhow::Result<()> {
    let statements = client.statements(household_id, member, from, to).await?;
    if statements.is_empty() {
        say!("no movements from {from} to {to}");
    }
    for statement in &statements {
        let settled = if statement.settled { "settled" } else { "open" };
        say!(
            "statement of {} ({}) from {} to {}: opening {}, closing {}, {settled}",
            statement.user_id,
            statement.account,
            statement.from,
            statement.to,
            format_money(&statement.opening_balance),
            format_money(&statement.closing_balance)
        );
        for line in &statement.lines {
            say!(
                "  {} {}: {} (balance {})",
                line.at,
                line.kind,
                format_money(&line.amount),
                format_money(&line.balance)
            );
        }
    }
    Ok(())
}

/// Formats an amount as a decimal with its currency code, such as
/// `100.00 EUR`, or in minor units when the currency is unknown.
fn format_money(amount: &MoneyBody) -> String {
    match Currency::from_code(&amount.currency) {
        Ok(currency) => format!(
            "{} {}",
            Money::from_minor(amount.minor, currency).to_decimal_string(),
            amount.currency
        ),
        Err(_) => format!("{} minor units of {}", amount.minor, amount.currency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_bill() -> BillRequest {
        BillRequest {
            amount: MoneyBody {
                minor: 100,
                currency: "EUR".into(),
            },
            period_start: "2026-10-01".into(),
            period_end: "2026-10-31".into(),
            provider: "City Power".into(),
            standing_charge: None,
            meter_ids: Vec::new(),
            split_mode: SplitMode::Consumption,
            members: Vec::new(),
        }
    }

    #[test]
    fn members_with_meters_parse() {
        let members = ["payer".to_owned(), "alice=m1, m2".to_owned()];

        let bill = with_members(empty_bill(), &members).expect("valid members");

        assert_eq!(bill.members.len(), 2);
        assert_eq!(bill.members[0].user_id, "payer");
        assert_eq!(bill.members[0].meter_ids, None);
        assert_eq!(
            bill.members[1].meter_ids,
            Some(vec!["m1".to_owned(), "m2".to_owned()])
        );
        assert_eq!(bill.meter_ids, ["m1", "m2"]);
    }

    #[test]
    fn member_without_user_id_fails() {
        let error = with_members(empty_bill(), &["=m1".to_owned()]).expect_err("no user id");

        assert!(error.to_string().contains("no user id"), "{error}");
    }

    #[test]
    fn amount_parses_to_minor_units() {
        let eur = Currency::from_code("EUR").expect("EUR");

        let amount = parse_amount("--amount", "100.25", eur).expect("valid amount");

        assert_eq!(amount.minor, 10_025);
        assert_eq!(amount.currency, "EUR");
    }

    #[test]
    fn bad_amount_names_option() {
        let eur = Currency::from_code("EUR").expect("EUR");

        let error = parse_amount("--amount", "ten", eur).expect_err("not a number");

        assert!(error.to_string().starts_with("--amount"), "{error}");
    }

    #[test]
    fn money_formats_with_code() {
        let amount = MoneyBody {
            minor: 5_042,
            currency: "EUR".into(),
        };

        assert_eq!(format_money(&amount), "50.42 EUR");
    }

    #[test]
    fn secret_lines_have_a_length_limit() {
        use secrecy::ExposeSecret;

        let mut short = std::io::Cursor::new("4242 4242 4242 4242\n123\n");
        let number = read_secret_line(&mut short, "card number").expect("number");
        assert_eq!(number.expose_secret(), "4242 4242 4242 4242");
        let cvc = read_secret_line(&mut short, "CVC").expect("CVC");
        assert_eq!(cvc.expose_secret(), "123");

        let huge = format!("{}\n", "4".repeat(10_000));
        let error =
            read_secret_line(&mut std::io::Cursor::new(huge), "card number").expect_err("too long");
        assert!(error.to_string().contains("longer than 64"), "{error}");
        assert!(!error.to_string().contains("4444"), "{error}");
    }
}
