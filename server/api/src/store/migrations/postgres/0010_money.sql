-- Bills, charges, payment methods, payments, refunds, the double-entry
-- ledger and transaction monitoring cases. Amounts are integer minor units
-- with an ISO 4217 code; timestamps are stored to the second. Rows are never
-- deleted: a changed bill gets a new version row, a replaced charge is
-- cancelled, and a deleted payment method keeps its row without its token.
CREATE TABLE bills (
    id UUID NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    household_id UUID NOT NULL REFERENCES households(id),
    status TEXT NOT NULL CHECK (status IN ('proposed', 'approved')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    standing_charge_minor BIGINT NOT NULL CHECK (standing_charge_minor >= 0),
    period_start_day BIGINT NOT NULL,
    period_end_day BIGINT NOT NULL,
    provider TEXT NOT NULL,
    request_json TEXT NOT NULL,
    split_json TEXT,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    approved_by UUID REFERENCES users(id),
    approved_at TIMESTAMPTZ,
    PRIMARY KEY (id, version)
);
CREATE INDEX bills_by_household ON bills (household_id);

CREATE TABLE bill_delegations (
    bill_id UUID NOT NULL,
    household_id UUID NOT NULL REFERENCES households(id),
    user_id UUID NOT NULL REFERENCES users(id),
    granted_by UUID NOT NULL REFERENCES users(id),
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bill_id, user_id)
);
CREATE INDEX bill_delegations_by_user ON bill_delegations (user_id);

CREATE TABLE charges (
    id UUID PRIMARY KEY,
    bill_id UUID NOT NULL,
    bill_version INTEGER NOT NULL,
    household_id UUID NOT NULL REFERENCES households(id),
    user_id UUID NOT NULL REFERENCES users(id),
    payee_id UUID NOT NULL REFERENCES users(id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'cancelled')),
    created_at TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (bill_id, bill_version) REFERENCES bills(id, version)
);
CREATE INDEX charges_by_user ON charges (user_id);
CREATE INDEX charges_by_household ON charges (household_id);
CREATE INDEX charges_by_bill ON charges (bill_id);

-- The vault token is the only card data here; the number stays in the vault.
CREATE TABLE payment_methods (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users(id),
    vault_token TEXT NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    expiry_month INTEGER NOT NULL,
    expiry_year INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX payment_methods_by_user ON payment_methods (user_id);

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    charge_id UUID NOT NULL REFERENCES charges(id),
    household_id UUID NOT NULL REFERENCES households(id),
    user_id UUID NOT NULL REFERENCES users(id),
    payment_method_id UUID NOT NULL REFERENCES payment_methods(id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'succeeded', 'declined', 'requires_authentication')),
    decline_reason TEXT,
    processor_reference TEXT,
    idempotency_scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    device_fingerprint TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    UNIQUE (idempotency_scope, idempotency_key)
);
CREATE INDEX payments_by_charge ON payments (charge_id);
CREATE INDEX payments_by_household ON payments (household_id);
CREATE INDEX payments_by_user ON payments (user_id);

CREATE TABLE refunds (
    id UUID PRIMARY KEY,
    payment_id UUID NOT NULL REFERENCES payments(id),
    charge_id UUID NOT NULL REFERENCES charges(id),
    household_id UUID NOT NULL REFERENCES households(id),
    user_id UUID NOT NULL REFERENCES users(id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by UUID NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE INDEX refunds_by_household ON refunds (household_id);

-- seq orders transactions in posting order, which ids alone do not.
CREATE TABLE ledger_transactions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    household_id UUID NOT NULL REFERENCES households(id),
    kind TEXT NOT NULL,
    reference_id UUID NOT NULL,
    charge_id UUID NOT NULL REFERENCES charges(id),
    posted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ledger_transactions_by_household ON ledger_transactions (household_id);

CREATE TABLE ledger_entries (
    transaction_id UUID NOT NULL REFERENCES ledger_transactions(id),
    line INTEGER NOT NULL,
    account TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('debit', 'credit')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    PRIMARY KEY (transaction_id, line)
);

-- The ledger is append-only: corrections are new transactions.
CREATE FUNCTION ledger_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END;
$$;

CREATE TRIGGER ledger_transactions_no_change BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();

CREATE TABLE monitoring_cases (
    id UUID PRIMARY KEY,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    reason TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id),
    payment_id UUID NOT NULL REFERENCES payments(id),
    household_id UUID NOT NULL REFERENCES households(id),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at TIMESTAMPTZ NOT NULL,
    closed_by UUID REFERENCES users(id),
    closed_at TIMESTAMPTZ,
    resolution TEXT
);
CREATE INDEX monitoring_cases_by_status ON monitoring_cases (status, opened_at);
