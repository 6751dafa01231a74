//! `GET /api/admin/ledger/verify`: a clean ledger passes every check, and a ledger corrupted
//! behind the application's back fails exactly the checks that catch each corruption, naming
//! the culprit, while another marketplace's ledger stays clean.

use super::support::{Deal, parties, per_session, usage, verify};
use crate::helpers::*;
use crate::money_helpers::{adjustments, dec};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use serde_json::{Value, json};
use uuid::Uuid;

/// The nine ledger checks of `GET /api/admin/ledger/verify`, in report order.
const CHECKS: [&str; 9] = [
    "currency_postings_sum_to_zero",
    "entries_balance",
    "wallets_equal_their_postings",
    "wallet_history_is_consistent",
    "no_negative_balance",
    "holds_match_their_postings",
    "holds_close_once",
    "settlements_add_up",
    "platform_fees_append_only",
];

fn check<'a>(report: &'a Reply, name: &str) -> &'a Value {
    report.body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {}", report.text))
}

#[tokio::test]
async fn a_clean_ledger_passes_every_check() {
    // Arrange: top-ups in two currencies, a settled and a voided session, a credit and a debit.
    let app = spawn_app().await;
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    app.topup_in(&consumer.auth(), "20.00", "USD")
        .await
        .expect(200);
    per_session(&app, &consumer, &provider, "5.00", "CNY").await;
    let deal = Deal::new(&app, &tenant, &consumer, &provider);
    deal.settled(PricingModel::PerMinute, "0.10", "USD", usage(61, 0))
        .await;
    deal.voided(PricingModel::PerSession, "3.00", "CNY").await;
    for direction in ["credit", "debit"] {
        app.post(
            &adjustments(&provider),
            &admin.auth(),
            &json!({ "type": direction, "amount": "1.25", "reason": "Correction" }),
        )
        .await
        .expect(200);
    }

    // Act
    let report = verify(&app, &admin).await;

    // Assert
    assert_eq!(report.body["ok"], true, "{}", report.text);
    let checks = report.body["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, CHECKS);
    for check in checks {
        assert_eq!(check["ok"], true, "{check}");
        assert_eq!(check["violations"], 0, "{check}");
        assert_eq!(check["examples"], json!([]), "{check}");
        assert!(
            check["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{check}"
        );
    }
    assert!(report.body["checkedAt"].is_string());
}

/// A way to break the ledger behind the application's back.
#[derive(Clone, Copy, Debug)]
enum Corruption {
    /// The wallet's balance moves without a posting.
    WalletDrift,
    /// A journal entry with one posting on the clearing account: money from nowhere.
    UnbalancedEntry,
    /// A balanced entry whose wallet posting records a wrong balanceAfter.
    WrongBalanceAfter,
    /// A lone posting into a wallet, outside any balanced entry, without touching the wallet.
    LoneWalletPosting,
    /// A settlement whose parts still add up but whose fee is not the rounding rule's (and not
    /// what was posted to the fee account).
    SkewedFee,
    /// A settled hold marked open again.
    ReopenedHold,
}

/// What a corruption touched: the wallet, and the entry and posting it inserted (if any).
struct Broken {
    wallet: String,
    entry: Option<String>,
    posting: Option<String>,
    /// The settlement's session or the hold it touched.
    row: Option<String>,
}

async fn insert_entry(app: &TestApp, tenant: Uuid) -> String {
    let entry = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ledger_entries (id, tenant_id, kind, currency, reference_id, memo, created_at)
         VALUES ($1, $2, 'topup', 'CNY', $1, 'inserted behind the app''s back', now())",
    )
    .bind(entry)
    .bind(tenant)
    .execute(&app.db)
    .await
    .expect("insert entry");
    entry.to_string()
}

/// Inserts one posting of `amount` into `entry`; a wallet posting when `wallet` is given (with
/// `balance_after`), else on the tenant's payment-clearing account. Returns the posting id.
async fn insert_posting(
    app: &TestApp,
    tenant: Uuid,
    entry: &str,
    wallet: Option<(&str, &str, &str)>,
    amount: &str,
) -> String {
    let (account, account_id, user, balance_after) = match wallet {
        Some((wallet, user, balance_after)) => (
            "wallet",
            wallet.to_owned(),
            Some(user.to_owned()),
            Some(balance_after.to_owned()),
        ),
        None => ("payment_clearing", tenant.to_string(), None, None),
    };
    sqlx::query_scalar(
        "INSERT INTO ledger_postings (entry_id, tenant_id, account, account_id, currency, amount,
                                      tx_type, reference_id, user_id, balance_after, created_at)
         VALUES ($1::uuid, $2, $3::ledger_account, $4::uuid, 'CNY', $5::numeric, 'topup', $1::uuid,
                 $6::uuid, $7::numeric, now())
         RETURNING id::text",
    )
    .bind(entry)
    .bind(tenant)
    .bind(account)
    .bind(account_id)
    .bind(amount)
    .bind(user)
    .bind(balance_after)
    .fetch_one(&app.db)
    .await
    .expect("insert posting")
}

impl Corruption {
    /// Breaks the ledger of `tenant`, where `user` holds 10.00 CNY in `wallet`.
    async fn apply(self, app: &TestApp, tenant: Uuid, user: &TestUser, wallet: &str) -> Broken {
        let broken = |entry, posting| Broken {
            wallet: wallet.to_owned(),
            entry,
            posting,
            row: None,
        };
        let touched = |row: String| Broken {
            wallet: wallet.to_owned(),
            entry: None,
            posting: None,
            row: Some(row),
        };
        match self {
            Corruption::WalletDrift => {
                sqlx::query("UPDATE wallets SET balance = balance + 1 WHERE id = $1::uuid")
                    .bind(wallet)
                    .execute(&app.db)
                    .await
                    .expect("drift");
                broken(None, None)
            }
            Corruption::UnbalancedEntry => {
                let entry = insert_entry(app, tenant).await;
                let posting = insert_posting(app, tenant, &entry, None, "-1").await;
                broken(Some(entry), Some(posting))
            }
            Corruption::WrongBalanceAfter => {
                let entry = insert_entry(app, tenant).await;
                sqlx::query(
                    "UPDATE wallets SET balance = balance + 1, postings = postings + 1
                     WHERE id = $1::uuid",
                )
                .bind(wallet)
                .execute(&app.db)
                .await
                .expect("credit");
                // The running sum is 11.00; the posting claims 111.00.
                let posting =
                    insert_posting(app, tenant, &entry, Some((wallet, &user.id, "111")), "1").await;
                insert_posting(app, tenant, &entry, None, "-1").await;
                broken(Some(entry), Some(posting))
            }
            Corruption::LoneWalletPosting => {
                let entry = insert_entry(app, tenant).await;
                let posting =
                    insert_posting(app, tenant, &entry, Some((wallet, &user.id, "999")), "1").await;
                broken(Some(entry), Some(posting))
            }
            Corruption::SkewedFee => touched(
                sqlx::query_scalar(
                    "UPDATE settlements SET platform_fee = platform_fee + 0.0001,
                            provider_income = provider_income - 0.0001
                     WHERE tenant_id = $1 RETURNING session_id::text",
                )
                .bind(tenant)
                .fetch_one(&app.db)
                .await
                .expect("skew the fee"),
            ),
            Corruption::ReopenedHold => touched(
                sqlx::query_scalar(
                    "UPDATE holds SET status = 'held', resolved_at = NULL
                     WHERE tenant_id = $1 RETURNING id::text",
                )
                .bind(tenant)
                .fetch_one(&app.db)
                .await
                .expect("reopen the hold"),
            ),
        }
    }

    /// The checks that must fail, each with the example it must name.
    fn failing(self, broken: &Broken) -> Vec<(&'static str, String)> {
        let entry = || broken.entry.clone().expect("an entry");
        let posting = || broken.posting.clone().expect("a posting");
        let row = || broken.row.clone().expect("a row");
        match self {
            Corruption::WalletDrift => {
                vec![("wallets_equal_their_postings", broken.wallet.clone())]
            }
            Corruption::UnbalancedEntry => vec![
                ("currency_postings_sum_to_zero", "CNY".to_owned()),
                ("entries_balance", entry()),
            ],
            Corruption::WrongBalanceAfter => vec![("wallet_history_is_consistent", posting())],
            Corruption::LoneWalletPosting => vec![
                ("currency_postings_sum_to_zero", "CNY".to_owned()),
                ("entries_balance", entry()),
                ("wallets_equal_their_postings", broken.wallet.clone()),
                ("wallet_history_is_consistent", posting()),
            ],
            Corruption::SkewedFee => vec![("settlements_add_up", row())],
            Corruption::ReopenedHold => vec![
                ("holds_match_their_postings", row()),
                ("holds_close_once", row()),
            ],
        }
    }
}

#[tokio::test]
async fn the_verifier_names_each_kind_of_corruption_and_where_it_is() {
    let app = spawn_app().await;
    let default_admin = app.default_admin().await;
    let cases = [
        Corruption::WalletDrift,
        Corruption::UnbalancedEntry,
        Corruption::WrongBalanceAfter,
        Corruption::LoneWalletPosting,
        Corruption::SkewedFee,
        Corruption::ReopenedHold,
    ];

    for corruption in cases {
        // Arrange: a marketplace of its own with a clean ledger (13.00 topped up, 3.00 spent).
        let slug = app.create_tenant("corrupt").await;
        let marketplace = app.tenant_row(&slug).await;
        let tenant = marketplace.id;
        let admin = app.admin_in(&slug).await;
        let user = app.signup_in(Some(&slug)).await;
        let provider = app.signup_in(Some(&slug)).await;
        app.topup(&user.auth(), "13.00").await.expect(200);
        Deal::new(&app, &marketplace, &user, &provider)
            .settled(PricingModel::PerSession, "3.00", "CNY", Usage::default())
            .await;
        assert_eq!(app.balance(&user, None).await, dec("10"));
        let clean = verify(&app, &admin).await;
        assert_eq!(clean.body["ok"], true, "{corruption:?}: {}", clean.text);
        let wallet: String = sqlx::query_scalar(
            "SELECT id::text FROM wallets WHERE user_id = $1::uuid AND currency = 'CNY'",
        )
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("wallet");

        // Act
        let broken = corruption.apply(&app, tenant.into(), &user, &wallet).await;
        let report = verify(&app, &admin).await;

        // Assert
        assert_eq!(
            report.body["ok"], false,
            "{corruption:?} is detected: {}",
            report.text
        );
        let failing = corruption.failing(&broken);
        for name in CHECKS {
            let found = check(&report, name);
            match failing.iter().find(|(n, _)| *n == name) {
                Some((_, example)) => {
                    assert_eq!(found["ok"], false, "{corruption:?}: {name} fails: {found}");
                    assert_eq!(found["violations"], 1, "{corruption:?}: {found}");
                    assert_eq!(
                        found["examples"],
                        json!([example]),
                        "{corruption:?}: {name} names the culprit"
                    );
                }
                None => {
                    assert_eq!(
                        found["ok"], true,
                        "{corruption:?}: {name} still holds: {found}"
                    );
                    assert_eq!(found["examples"], json!([]), "{corruption:?}: {found}");
                }
            }
        }
        let elsewhere = verify(&app, &default_admin).await;
        assert_eq!(
            elsewhere.body["ok"], true,
            "{corruption:?}: another marketplace's ledger is not affected"
        );
    }
}
