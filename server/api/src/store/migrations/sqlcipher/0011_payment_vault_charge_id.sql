-- The vault's id of the charge behind a payment, which a refund names.
-- Payments made before this column existed keep NULL and cannot be
-- refunded to the card.
ALTER TABLE payments ADD COLUMN vault_charge_id TEXT;
