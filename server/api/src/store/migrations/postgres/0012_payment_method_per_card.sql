-- One live payment method per vault token and user. The vault hands back
-- the first token when a user saves the same card again, so a second row
-- for that token would show the card twice, and deleting either row would
-- delete the card at the vault under the other. Rows that repeat a token
-- already are marked deleted, keeping the oldest.
UPDATE payment_methods SET deleted_at = now()
WHERE deleted_at IS NULL
  AND EXISTS (
    SELECT 1 FROM payment_methods AS older
    WHERE older.user_id = payment_methods.user_id
      AND older.vault_token = payment_methods.vault_token
      AND older.deleted_at IS NULL
      AND older.id < payment_methods.id
  );
CREATE UNIQUE INDEX payment_methods_live_token
    ON payment_methods (user_id, vault_token) WHERE deleted_at IS NULL;
