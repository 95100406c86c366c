//! Runs the storage conformance suite against both backends. Test names
//! read `conformance_sqlcipher::<check>` and `conformance_postgres::<check>`.
//! The PostgreSQL half fails, and does not skip, when PostgreSQL is not
//! reachable at 127.0.0.1:5432.

mod conformance;
mod support;

/// Declares one test per suite check in a module for one backend.
macro_rules! backend_suite {
    ($module:ident, $open:path) => {
        mod $module {
            backend_suite!(@tests $open,
                user_round_trips,
                unknown_user_is_none,
                duplicate_email_is_rejected,
                duplicate_user_id_is_rejected,
                session_round_trips,
                user_and_audit_commit_together,
                sql_metacharacters_stored_verbatim,
                raw_rows_hold_only_ciphertext,
                field_decrypts_after_rotation,
                audit_entries_form_chain,
                concurrent_appends_never_fork,
                audit_rows_reject_update,
                verify_names_changed_entry,
                verify_detects_deleted_entry,
                verify_detects_removed_newest_entries,
                verify_detects_changed_mac,
                cli_verifies_intact_chain,
                cli_exports_since_time,
                reopen_keeps_data_and_schema,
                server_audits_authentication,
                session_limit_evicts_oldest,
                session_rows_round_trip,
                refresh_rotation_replaces_token,
                reused_refresh_revokes_family,
                parallel_refreshes_rotate_once,
                refresh_checks_device_and_expiry,
                revoke_sessions_keeps_current,
                system_roles_round_trip,
                password_history_keeps_newest,
                stale_password_change_is_rejected,
                parallel_login_failures_all_count,
                login_lock_and_window,
                webauthn_credentials_round_trip,
                webauthn_ceremony_taken_once,
                webauthn_ceremony_expiry_and_limit,
                security_events_filter_and_page,
                account_lock_and_unlock,
                payment_change_after_new_device,
                service_credentials_round_trip,
                parallel_code_attempts_all_count,
                parallel_code_use_accepts_once,
                code_expires_and_new_code_resets,
                mfa_state_and_totp_steps,
                recovery_codes_work_once,
                challenge_completes_once,
                device_revoke_ends_its_sessions,
                outbox_claims_lease_messages,
            );
        }
    };
    (@tests $open:path, $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let backend = $open().await;
                crate::conformance::$check(&backend).await;
            }
        )*
    };
}

backend_suite!(
    conformance_sqlcipher,
    crate::support::TestBackend::sqlcipher
);
backend_suite!(conformance_postgres, crate::support::TestBackend::postgres);
