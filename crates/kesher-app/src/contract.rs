//! The backend contract suite: every `Store` implementation runs these checks in its tests,
//! under the workflows that use it (this crate's), so that what is checked is what a business
//! gets: the row operations of a unit of work, its locks under concurrency, the reads.
//!
//! A backend's test file invokes [`contract_tests!`](crate::contract_tests) once with a factory
//! that makes a fresh, empty store (and a guard that keeps its resources, such as a temporary
//! directory or database, alive until dropped). The macro emits a module `contract` with one
//! `#[test]` per check (the points ledger's in `contract::points`, the loyalty program's in
//! `contract::loyalty`, saved segments over time in `contract::segments`), each on a fresh store (two for a copy), so a
//! failure names its check and `cargo test contract::<name>` runs one alone. The list of checks
//! lives in the macro only: a check added there runs on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{App, Settings};
use kesher_core::*;
use kesher_store::*;
use std::sync::Arc;

pub mod benefits;
pub mod campaigns;
pub mod jobs;
pub mod loyalty;
pub mod points;
pub mod segments;

/// Emits `mod contract { … }` with one `#[test]` per contract check, each run by
/// [`run_check`](crate::contract::run_check) on a store from `$fresh`: anything callable with no
/// arguments that returns `(guard, store)`, the guard kept alive until the store is dropped.
///
/// ```ignore
/// fn fresh() -> (tempdir::Dir, SqliteStore) { … }
/// kesher_app::contract_tests!(fresh);
/// ```
#[macro_export]
macro_rules! contract_tests {
    ($fresh:expr) => {
        /// The backend contract suite (`kesher_app::contract`): one test per check.
        mod contract {
            #[allow(unused_imports)]
            use super::*;

            $crate::contract_tests!(@checks $fresh;
                reference_data_is_idempotent,
                a_customer_reads_back_as_written,
                identifiers_are_unique_across_customers,
                updates_keep_consent_history_and_an_audit_trail,
                audit_entries_can_be_appended_and_found_by_action,
                audit_pages_are_filtered_and_keyset_paged_newest_first,
                lookup_finds_a_customer_by_any_identifier,
                search_is_by_normalised_name_email_and_member_number,
                search_narrows_to_one_branch,
                search_reads_prefixes_says_more_and_caps_its_count,
                transactions_are_idempotent_on_their_external_id,
                baskets_list_the_product_lines_of_a_branch,
                refunds_are_recorded_and_invalid_sales_refused,
                interactions_are_recorded_once_and_audited_without_their_text,
                merge_moves_sales_interactions_children_and_identifiers,
                merged_away_identifiers_still_find_the_kept_customer,
                merge_is_audited_and_refuses_itself_or_a_dropped_customer,
                imports_are_all_or_nothing,
                delete_refuses_a_customer_with_transactions,
                purchases_are_identified_sales_by_customer_and_time,
                analysis_runs_and_stage_history,
                cohort_counts_agree_with_the_sales,
                wallet_estimates_read_the_attribute_as_written,
                users_are_unique_and_their_updates_audited_without_the_hash,
                tokens_are_found_by_digest_and_revoked_once,
                sessions_expire_and_are_deleted,
                erasure_keeps_the_business_totals,
                erasure_clears_the_profile_and_every_identifier,
                erasure_leaves_no_personal_data_in_the_audit_log,
                erasing_twice_changes_nothing,
                retention_finds_inactive_customers_but_not_erased_ones,
                settings_are_audited,
                settings_are_listed_by_literal_prefix_and_deleted,
                every_customer_streams_once_in_id_order,
            );

            /// The points ledger's contract checks (`kesher_app::contract::points`).
            mod points {
                #[allow(unused_imports)]
                use super::*;

                $crate::contract_tests!(@points $fresh;
                    sales_earn_by_the_rule_once,
                    refunds_take_back_their_share_of_the_points,
                    a_refund_after_a_redemption_may_take_the_balance_below_zero,
                    an_unknown_customer_has_no_balance,
                    adjustments_need_a_reason_and_never_overdraw,
                    redemption_never_overdraws,
                    a_retried_redemption_returns_the_first_entry,
                    redemptions_and_adjustments_are_audited_and_totalled,
                    a_customer_with_points_cannot_be_deleted,
                    merge_sums_the_balances_and_refunds_take_back_from_the_kept_customer,
                    erasure_keeps_the_points_and_clears_the_reasons,
                    the_bulk_award_earns_by_the_rule_once,
                    an_import_awards_its_own_sales_only_when_asked,
                    parallel_redemptions_never_overdraw,
                    a_redemption_retried_in_parallel_lands_once,
                    a_sale_posted_in_parallel_earns_once,
                    interleaved_sales_and_redemptions_keep_the_balance_equal_to_the_ledger,
                );
            }

            /// A loyalty program's storage (`kesher_app::contract::loyalty`).
            mod loyalty {
                #[allow(unused_imports)]
                use super::*;

                $crate::contract_tests!(@loyalty $fresh;
                    a_membership_reads_back_as_written,
                    membership_events_are_numbered_in_order,
                    customer_activity_sums_the_window,
                    product_facts_name_the_known_products,
                    ledger_entries_keep_their_breakdown,
                    members_are_listed_by_status_and_tier_in_pages,
                    members_due_for_review_are_active_ones_longest_due_first,
                    merge_moves_the_membership_to_a_kept_customer_without_one,
                    merge_keeps_the_kept_customers_membership,
                    erasure_keeps_the_membership_and_redacts_its_history,
                    the_export_holds_the_membership_its_history_and_breakdowns,
                    a_member_or_an_inviter_cannot_be_deleted,
                    old_lots_are_found_and_expire_once,
                    pending_entries_read_back_and_sum_until_available,
                    the_kpis_read_events_ledger_and_sales_over_a_window,
                );
                $crate::contract_tests!(@pairs $fresh;
                    a_copy_keeps_memberships_history_and_breakdowns,
                );
            }

            /// The benefits' storage (`kesher_app::contract::benefits`).
            mod benefits {
                #[allow(unused_imports)]
                use super::*;

                $crate::contract_tests!(@benefits $fresh;
                    grants_and_draws_read_back_as_written,
                    benefit_redemptions_in_parallel_never_overdraw,
                    merge_moves_grants_and_erasure_clears_their_keys,
                );
                $crate::contract_tests!(@benefit_pairs $fresh;
                    a_copy_keeps_grants_and_draws,
                );
            }

            /// Saved segments over time (`kesher_app::contract::segments`).
            mod segments {
                #[allow(unused_imports)]
                use super::*;

                $crate::contract_tests!(@segments $fresh;
                    segment_members_and_history_read_back_as_written,
                    merge_moves_segment_memberships_and_history,
                    deleting_a_customer_removes_their_segment_rows_and_erasure_keeps_them,
                    refreshes_in_parallel_record_each_entry_once,
                );
                $crate::contract_tests!(@segment_pairs $fresh;
                    a_copy_keeps_segment_memberships_and_history,
                );
            }

            /// The campaigns' storage (`kesher_app::contract::campaigns`).
            mod campaigns {
                #[allow(unused_imports)]
                use super::*;

                $crate::contract_tests!(@campaigns $fresh;
                    campaigns_and_messages_read_back_as_written,
                    claims_take_due_messages_of_launched_campaigns_once,
                    merge_moves_messages_and_erasure_clears_their_texts,
                    a_waiting_message_is_released_with_its_texts,
                    the_outbox_key_includes_the_occurrence,
                    clicks_count_once_per_link_and_follow_their_message,
                );
                $crate::contract_tests!(@campaign_pairs $fresh;
                    a_copy_keeps_campaigns_and_messages,
                );
            }

            /// The job queue's contract checks (`kesher_app::contract::jobs`).
            mod jobs {
                #[allow(unused_imports)]
                use super::*;

                $crate::contract_tests!(@jobs $fresh;
                    claim_order,
                    expired_lease_reclaimed,
                    lost_lease_cannot_finish,
                    dedupe_retry_cancel_list,
                    parallel_claimers,
                );
            }
        }
    };
    (@checks $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::$check);
            }
        )*
    };
    (@jobs $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::jobs::$check);
            }
        )*
    };
    (@loyalty $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::loyalty::$check);
            }
        )*
    };
    (@pairs $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_pair_check($fresh, $crate::contract::loyalty::$check);
            }
        )*
    };
    (@benefits $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::benefits::$check);
            }
        )*
    };
    (@campaigns $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::campaigns::$check);
            }
        )*
    };
    (@campaign_pairs $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_pair_check($fresh, $crate::contract::campaigns::$check);
            }
        )*
    };
    (@benefit_pairs $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_pair_check($fresh, $crate::contract::benefits::$check);
            }
        )*
    };
    (@segments $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::segments::$check);
            }
        )*
    };
    (@segment_pairs $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_pair_check($fresh, $crate::contract::segments::$check);
            }
        )*
    };
    (@points $fresh:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::contract::run_check($fresh, $crate::contract::points::$check);
            }
        )*
    };
}

/// Run one contract check on an app over a fresh store from `make`; the guard outlives the store.
pub fn run_check<G, S: Store + 'static>(make: impl FnOnce() -> (G, S), check: fn(&App)) {
    let (_guard, store) = make();
    let app = App::new(Arc::new(store), Settings::default());
    check(&app);
}

/// Run a contract check that needs two stores (a copy's source and target), each fresh from
/// `make`; the guards outlive the stores.
pub fn run_pair_check<G, S: Store + 'static>(make: impl Fn() -> (G, S), check: fn(&App, &App)) {
    let (_guard, store) = make();
    let (_target_guard, target) = make();
    let app = App::new(Arc::new(store), Settings::default());
    let target = App::new(Arc::new(target), Settings::default());
    check(&app, &target);
}

fn uid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}
fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}
fn actor() -> Actor {
    Actor::new("test", at("2025-01-01T00:00:00Z")).from("127.0.0.1")
}
fn ils() -> Currency {
    Currency::parse("ILS").unwrap()
}

/// One branch B1, one employee E1, one product P1; returns their ids.
pub fn seed_reference(s: &dyn Store) -> (BranchId, EmployeeId, ProductId) {
    let b = Branch {
        id: BranchId(uid(1)),
        external_id: "B1".into(),
        name: "Tel Aviv".into(),
        region: Some("Center".into()),
        time_zone: "Asia/Jerusalem".into(),
    };
    let e = Employee {
        id: EmployeeId(uid(2)),
        external_id: "E1".into(),
        name: "Noa".into(),
        branch_id: Some(b.id),
    };
    let p = Product {
        id: ProductId(uid(3)),
        sku: "P1".into(),
        name: "Beans".into(),
        category: Some("Coffee".into()),
        list_price: Money::new(8990, ils()),
        unit_cost: Some(4100),
    };
    s.insert_branch(&b).unwrap();
    s.insert_employee(&e).unwrap();
    s.insert_product(&p).unwrap();
    (b.id, e.id, p.id)
}

pub fn customer(n: u128, member: &str, name: &str) -> Customer {
    let mut c = Customer::bare(
        CustomerId(uid(1000 + n)),
        Some(member.into()),
        at("2024-06-01T10:00:00Z"),
    );
    c.name = Some(name.into());
    c
}

pub fn reference_data_is_idempotent(s: &App) {
    let (b, e, p) = seed_reference(&*s.store);
    let again = Branch {
        id: BranchId(uid(99)),
        external_id: "B1".into(),
        name: "x".into(),
        region: None,
        time_zone: "UTC".into(),
    };
    assert_eq!(s.store.insert_branch(&again).unwrap(), Inserted::AlreadyPresent);
    assert_eq!(s.store.get_branch(b).unwrap().unwrap().name, "Tel Aviv");
    assert_eq!(s.store.branch_by_external("B1").unwrap().unwrap().id, b);
    assert_eq!(s.store.list_branches().unwrap().len(), 1);
    assert_eq!(s.store.get_employee(e).unwrap().unwrap().branch_id, Some(b));
    assert_eq!(s.store.employee_by_external("E1").unwrap().unwrap().id, e);
    assert_eq!(s.store.list_employees().unwrap().len(), 1);
    let prod = s.store.product_by_sku("P1").unwrap().unwrap();
    assert_eq!((prod.id, prod.list_price.minor, prod.unit_cost), (p, 8990, Some(4100)));
    assert_eq!(s.store.get_product(p).unwrap().unwrap().sku, "P1");
    assert_eq!(s.store.list_products(10, 0).unwrap().total, 1);
    let c = s.store.counts().unwrap();
    assert_eq!((c.branches, c.employees, c.products), (1, 1, 1));
}

/// Customer M1 with every field set, consents included.
fn full_customer(b: BranchId, e: EmployeeId) -> Customer {
    let mut c = customer(1, "M1", "דנה כהן");
    c.kind = CustomerKind::Consumer;
    c.phone = Some(Phone::parse("050-1234567", Country::israel()).unwrap());
    c.email = Some(Email::parse("Dana@Example.com").unwrap());
    c.card = Some("CARD-1".into());
    c.language = Some("he".into());
    c.demographics = Demographics {
        birth_date: Some("1985-04-12".parse().unwrap()),
        gender: Some(Gender::Female),
        city: Some("Tel Aviv".into()),
        region: Some("Center".into()),
        household_size: Some(3),
        income_band: Some("middle".into()),
    };
    c.attributes.insert("lifestyle".into(), serde_json::json!("runner"));
    c.source_branch = Some(b);
    c.source_employee = Some(e);
    c.consents = vec![Consent {
        channel: ConsentChannel::Email,
        state: ConsentState::Granted,
        at: at("2024-06-01T10:00:00Z"),
        source: "pos:B1".into(),
    }];
    c
}

pub fn a_customer_reads_back_as_written(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let c = full_customer(b, e);
    s.insert_customer(&c, &actor()).unwrap();
    assert_eq!(s.store.get_customer(c.id).unwrap().unwrap(), c);
}

pub fn identifiers_are_unique_across_customers(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let c = full_customer(b, e);
    s.insert_customer(&c, &actor()).unwrap();
    let mut dup = customer(2, "M2", "Other");
    dup.phone = c.phone.clone();
    match s.insert_customer(&dup, &actor()) {
        Err(StoreError::Conflict {
            field: "phone",
            reason,
            code,
            params,
        }) => {
            assert!(reason.contains("already belongs to customer M1"), "{reason}");
            assert_eq!((code, params["owner"].as_str()), ("customer.phone.taken", Some("M1")));
        }
        other => panic!("expected phone conflict, got {other:?}"),
    }
    dup.phone = None;
    dup.email = c.email.clone();
    assert!(matches!(
        s.insert_customer(&dup, &actor()),
        Err(StoreError::Conflict { field: "email", .. })
    ));
    dup.email = None;
    dup.card = Some("CARD-1".into());
    assert!(matches!(
        s.insert_customer(&dup, &actor()),
        Err(StoreError::Conflict { field: "card", .. })
    ));
    let same_member = customer(3, "M1", "x");
    assert!(matches!(
        s.insert_customer(&same_member, &actor()),
        Err(StoreError::Conflict { field: "member_no", .. })
    ));
    assert_eq!(s.store.counts().unwrap().customers, 1);
}

pub fn updates_keep_consent_history_and_an_audit_trail(s: &App) {
    let mut c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    c.consents = vec![Consent {
        channel: ConsentChannel::Sms,
        state: ConsentState::Granted,
        at: at("2025-01-01T00:00:00Z"),
        source: "web".into(),
    }];
    s.update_customer(&c, &actor()).unwrap();
    c.consents[0] = Consent {
        channel: ConsentChannel::Sms,
        state: ConsentState::Withdrawn,
        at: at("2025-02-01T00:00:00Z"),
        source: "sms-stop".into(),
    };
    c.name = Some("Dana Cohen".into());
    s.update_customer(&c, &actor()).unwrap();
    let got = s.store.get_customer(c.id).unwrap().unwrap();
    assert_eq!(got.name.as_deref(), Some("Dana Cohen"));
    assert_eq!(got.consent(ConsentChannel::Sms).unwrap().state, ConsentState::Withdrawn);
    let hist = s.store.consent_history(c.id).unwrap();
    assert_eq!(
        hist.iter().map(|h| h.consent.state).collect::<Vec<_>>(),
        vec![ConsentState::Granted, ConsentState::Withdrawn]
    );
    let log = s.store.audit_log(10, 0).unwrap();
    assert_eq!(
        log.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        vec!["customer.update", "customer.update", "customer.create"]
    );
    assert_eq!(log[0].before.as_ref().unwrap()["name"], "Dana");
    assert_eq!(log[0].after.as_ref().unwrap()["name"], "Dana Cohen");
    let mut ghost = customer(9, "M9", "x");
    ghost.id = CustomerId(uid(5555));
    assert!(matches!(
        s.update_customer(&ghost, &actor()),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn audit_pages_are_filtered_and_keyset_paged_newest_first(s: &App) {
    // Ten entries a day apart, two actors, two actions.
    for i in 0..10i64 {
        let who = if i % 2 == 0 { "user:dana" } else { "user:omer" };
        let action = if i < 5 { "user.create" } else { "token.create" };
        let when = at("2025-01-01T00:00:00Z")
            .checked_add(jiff::SignedDuration::from_hours(24 * i))
            .unwrap();
        s.store
            .append_audit(&Actor::new(who, when), action, "x", &i.to_string(), None)
            .unwrap();
    }
    let ids = |q: &AuditQuery| -> Vec<String> {
        s.store
            .audit_page(q)
            .unwrap()
            .into_iter()
            .map(|a| a.entity_id)
            .collect()
    };
    let all = AuditQuery {
        limit: 4,
        ..AuditQuery::default()
    };
    let first = s.store.audit_page(&all).unwrap();
    assert_eq!(
        first.iter().map(|a| a.entity_id.as_str()).collect::<Vec<_>>(),
        ["9", "8", "7", "6"]
    );
    let next = AuditQuery {
        before: Some(first[3].seq),
        ..all.clone()
    };
    assert_eq!(ids(&next), ["5", "4", "3", "2"]);
    let by_actor = AuditQuery {
        actor: Some("user:dana".into()),
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(ids(&by_actor), ["8", "6", "4", "2", "0"]);
    let by_action = AuditQuery {
        action: Some("user.create".into()),
        actor: Some("user:omer".into()),
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(ids(&by_action), ["3", "1"]);
    let window = AuditQuery {
        from: Some(at("2025-01-03T00:00:00Z")),
        until: Some(at("2025-01-06T00:00:00Z")),
        limit: 2,
        ..AuditQuery::default()
    };
    let page = s.store.audit_page(&window).unwrap();
    assert_eq!(
        page.iter().map(|a| a.entity_id.as_str()).collect::<Vec<_>>(),
        ["4", "3"]
    );
    let rest = AuditQuery {
        before: Some(page[1].seq),
        ..window
    };
    assert_eq!(ids(&rest), ["2"]);
}

pub fn audit_entries_can_be_appended_and_found_by_action(s: &App) {
    assert!(!s.store.has_audit_action("demo.generate").unwrap());
    s.store
        .append_audit(
            &actor(),
            "demo.generate",
            "database",
            "-",
            Some(&serde_json::json!({"seed": 1})),
        )
        .unwrap();
    assert!(s.store.has_audit_action("demo.generate").unwrap());
    let log = s.store.audit_log(1, 0).unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].entity.as_str()),
        ("demo.generate", "database")
    );
    assert_eq!(log[0].after.as_ref().unwrap()["seed"], 1);
}

pub fn lookup_finds_a_customer_by_any_identifier(s: &App) {
    let mut c = customer(1, "M1", "Dana");
    c.phone = Some(Phone::parse("+972 50 123 4567", Country::israel()).unwrap());
    c.email = Some(Email::parse("dana@example.com").unwrap());
    c.card = Some("C77".into());
    s.insert_customer(&c, &actor()).unwrap();
    for ident in [
        Identifier::Phone(Phone::parse("050-1234567", Country::israel()).unwrap()),
        Identifier::Email(Email::parse("DANA@example.com ").unwrap()),
        Identifier::Member("M1".into()),
        Identifier::Card("C77".into()),
    ] {
        assert_eq!(
            s.store.lookup_customer(&ident).unwrap().map(|c| c.id),
            Some(c.id),
            "{ident:?}"
        );
    }
    assert_eq!(
        s.store.lookup_customer(&Identifier::Member("nope".into())).unwrap(),
        None
    );
}

pub fn search_is_by_normalised_name_email_and_member_number(s: &App) {
    let names = ["علی کریمی", "Dana Cohen", "Dan Levi", "דנה כהן", "Zoe Dan"];
    for (i, n) in names.iter().enumerate() {
        let mut c = customer(i as u128, &format!("M{i}"), n);
        c.email = Some(Email::parse(&format!("user{i}@example.com")).unwrap());
        s.insert_customer(&c, &actor()).unwrap();
    }
    let q = |t: &str| CustomerQuery {
        text: Some(t.into()),
        limit: 2,
        ..Default::default()
    };
    let p = s.store.search_customers(&q("dan")).unwrap();
    assert_eq!(p.total, 3);
    assert_eq!(p.items.len(), 2);
    let p2 = s
        .store
        .search_customers(&CustomerQuery { offset: 2, ..q("dan") })
        .unwrap();
    assert_eq!(p2.items.len(), 1);
    // Arabic kaf and yeh find the Persian spelling.
    assert_eq!(s.store.search_customers(&q("علي كريمي")).unwrap().total, 1);
    assert_eq!(
        s.store.search_customers(&q("user3@")).unwrap().items[0].name.as_deref(),
        Some("דנה כהן")
    );
    assert_eq!(s.store.search_customers(&q("M4")).unwrap().total, 1);
    assert_eq!(
        s.store
            .search_customers(&CustomerQuery {
                limit: 50,
                ..Default::default()
            })
            .unwrap()
            .total,
        5
    );
}

/// A search goes by indexed prefixes (the name, its family part, identifiers), pages with a
/// "more" flag, and counts up to `SEARCH_COUNT_CAP`.
pub fn search_reads_prefixes_says_more_and_caps_its_count(s: &App) {
    use kesher_store::search::SEARCH_COUNT_CAP;
    let mut imp = s.store.begin_import().unwrap();
    let mut dana = customer(0, "M0", "Dana Cohen");
    dana.phone = Some(Phone::parse("050-1234567", Country::israel()).unwrap());
    dana.card = Some("ab-77".into());
    let listed = [
        dana,
        customer(1, "M1", "Cohen Yael"),
        customer(2, "M2", "Avi Cohn"),
        customer(3, "M3", "Adana Levi"),
    ];
    for c in &listed {
        imp.insert_customer(c).unwrap();
    }
    let fillers: Vec<Customer> = (0..=SEARCH_COUNT_CAP as u128)
        .map(|k| customer(10 + k, &format!("F{k:04}"), &format!("Filler {k:04}")))
        .collect();
    for r in imp.insert_customers(&fillers.iter().collect::<Vec<_>>()) {
        r.unwrap();
    }
    imp.commit().unwrap();
    let q = |t: &str, limit: u32, offset: u64| CustomerQuery {
        text: Some(t.into()),
        limit,
        offset,
        ..Default::default()
    };
    let names = |p: &kesher_store::Page<Customer>| -> Vec<String> {
        p.items.iter().map(|c| c.name.clone().unwrap_or_default()).collect()
    };
    // The family name's start, ordered by the text that matched ("cohen" < "cohen yael" < "cohn").
    let p = s.store.search_customers(&q("coh", 50, 0)).unwrap();
    assert_eq!(names(&p), ["Dana Cohen", "Cohen Yael", "Avi Cohn"]);
    assert_eq!((p.total, p.total_capped, p.more()), (3, false, false));
    // A page of two says another follows; the last page says none does.
    let p = s.store.search_customers(&q("coh", 2, 0)).unwrap();
    assert_eq!((p.items.len(), p.total, p.more()), (2, 3, true));
    let p = s.store.search_customers(&q("coh", 2, 2)).unwrap();
    assert_eq!((names(&p), p.more()), (vec!["Avi Cohn".to_string()], false));
    // The middle of a word is no start: "ana" finds neither Dana nor Adana.
    assert_eq!(s.store.search_customers(&q("ana", 50, 0)).unwrap().total, 0);
    assert_eq!(
        names(&s.store.search_customers(&q("adana", 50, 0)).unwrap()),
        ["Adana Levi"]
    );
    // Identifiers by their start, in any ASCII case; a phone in local notation exactly.
    assert_eq!(
        names(&s.store.search_customers(&q("m3", 50, 0)).unwrap()),
        ["Adana Levi"]
    );
    assert_eq!(
        names(&s.store.search_customers(&q("AB-7", 50, 0)).unwrap()),
        ["Dana Cohen"]
    );
    let phone = Phone::parse("050-1234567", Country::israel()).unwrap();
    let by_phone = s
        .store
        .search_customers(&CustomerQuery {
            phone: Some(phone),
            ..q("050-1234567", 50, 0)
        })
        .unwrap();
    assert_eq!(names(&by_phone), ["Dana Cohen"]);
    // More matches than the cap: the count stops there and says so.
    let p = s.store.search_customers(&q("fil", 50, 0)).unwrap();
    assert_eq!(
        (p.items.len(), p.total, p.total_capped, p.more()),
        (50, SEARCH_COUNT_CAP, true, true)
    );
    assert_eq!(p.items[0].name.as_deref(), Some("Filler 0000"));
    let p = s.store.search_customers(&q("fil", 50, 980)).unwrap();
    assert_eq!(p.items.len(), 21, "the page past the cap still reads on");
    assert_eq!(p.items[20].name.as_deref(), Some("Filler 1000"));
    let all = s
        .store
        .search_customers(&CustomerQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (all.total, all.total_capped, all.more()),
        (SEARCH_COUNT_CAP, true, true)
    );
}

fn sale(n: u128, ext: &str, cust: Option<CustomerId>, b: BranchId, p: ProductId, when: &str) -> Transaction {
    Transaction {
        id: TransactionId(uid(5000 + n)),
        external_id: ext.into(),
        customer_id: cust,
        branch_id: b,
        employee_id: None,
        occurred_at: at(when),
        currency: ils(),
        lines: vec![
            Line {
                product_id: Some(p),
                sku: Some("P1".into()),
                quantity: 2,
                unit_price: 8990,
                discount: 1000,
            },
            Line {
                product_id: None,
                sku: None,
                quantity: 1,
                unit_price: 500,
                discount: 0,
            },
        ],
        refund_of: None,
    }
}

pub fn transactions_are_idempotent_on_their_external_id(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    let t = sale(1, "T1", Some(c.id), b, p, "2025-03-01T10:00:00Z");
    let first = s.record_transaction(&t).unwrap();
    assert!(first.created);
    assert_eq!(first.value.total(), Some(2 * 8990 - 1000 + 500));
    let retry = Transaction {
        id: TransactionId(uid(7777)),
        ..t.clone()
    };
    let second = s.record_transaction(&retry).unwrap();
    assert!(!second.created);
    assert_eq!(second.value.id, t.id);
    assert_eq!(s.store.counts().unwrap().transactions, 1);
    assert_eq!(s.store.get_transaction(t.id).unwrap().unwrap(), t);
    assert_eq!(s.store.transaction_by_external("T1").unwrap().unwrap().id, t.id);
}

/// Three sales at B1, two of customer M1 (T1 and T3) and one anonymous (T2); returns T1.
fn three_sales(s: &App) -> (BranchId, ProductId, CustomerId, Transaction) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    let t = sale(1, "T1", Some(c.id), b, p, "2025-03-01T10:00:00Z");
    s.record_transaction(&t).unwrap();
    s.record_transaction(&sale(2, "T2", None, b, p, "2025-03-02T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(3, "T3", Some(c.id), b, p, "2025-03-03T10:00:00Z"))
        .unwrap();
    (b, p, c.id, t)
}

/// A backend that counts cohorts itself counts what its sales say: each customer once per
/// month, in the cohort of their first month, sales before the first month in month 0, refunds
/// and anonymous sales left out, nothing after the end.
pub fn cohort_counts_agree_with_the_sales(s: &App) {
    let (b, p, c1, first) = three_sales(s);
    let c2 = customer(2, "M2", "Noa");
    s.insert_customer(&c2, &actor()).unwrap();
    for (n, ext, who, when) in [
        (10, "T10", c2.id, "2025-01-15T10:00:00Z"),
        (11, "T11", c2.id, "2025-03-20T10:00:00Z"),
        (12, "T12", c2.id, "2025-03-21T10:00:00Z"),
        (13, "T13", c1, "2025-05-01T10:00:00Z"),
    ] {
        s.record_transaction(&sale(n, ext, Some(who), b, p, when)).unwrap();
    }
    let mut refund = sale(14, "T14", Some(c1), b, p, "2025-04-02T10:00:00Z");
    refund.refund_of = Some(first.id);
    for l in &mut refund.lines {
        l.quantity = -l.quantity;
    }
    s.record_transaction(&refund).unwrap();
    // February, March and April 2025; the end falls before the May sale.
    let starts: Vec<i64> = ["2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"]
        .iter()
        .map(|t| at(t).as_second())
        .collect();
    let end = at("2025-04-30T23:59:59Z").as_second();
    let Some(mut got) = s.store.cohort_counts(&starts, end).unwrap() else {
        return; // the backend leaves it to the caller, who reads the sales
    };
    got.sort_unstable();
    // M1: first in March (index 2), March only (the refund is no sale, May is after the end);
    // M2: first before the window (index 0), then March.
    assert_eq!(got, vec![(0, 0, 1), (0, 2, 1), (2, 2, 1)]);
}

pub fn baskets_list_the_product_lines_of_a_branch(s: &App) {
    let (_, _, c, _) = three_sales(s);
    let mine = s.store.list_transactions(Some(c), 10, 0).unwrap();
    assert_eq!(
        mine.items.iter().map(|t| t.external_id.as_str()).collect::<Vec<_>>(),
        vec!["T3", "T1"]
    );
    assert_eq!(s.store.list_transactions(None, 10, 0).unwrap().total, 3);
    let mut seen = Vec::new();
    s.store
        .for_each_basket(None, &mut |b| {
            seen.push((b.transaction.to_string(), b.branch.to_string(), b.items.to_vec()))
        })
        .unwrap();
    // Amount-only lines are left out; every sale has one product line here.
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|(_, br, items)| br == "B1" && items == &vec![("P1".to_string(), Some("Coffee".to_string()))])
    );
    let mut none = 0;
    s.store.for_each_basket(Some("B9"), &mut |_| none += 1).unwrap();
    assert_eq!(none, 0);
}

pub fn refunds_are_recorded_and_invalid_sales_refused(s: &App) {
    let (_, p, _, t) = three_sales(s);
    let refund = Transaction {
        id: TransactionId(uid(6000)),
        external_id: "R1".into(),
        refund_of: Some(t.id),
        lines: vec![Line {
            product_id: Some(p),
            sku: Some("P1".into()),
            quantity: -1,
            unit_price: 8990,
            discount: 0,
        }],
        ..t.clone()
    };
    assert_eq!(s.record_transaction(&refund).unwrap().value.total(), Some(-8990));
    let bad_ref = Transaction {
        id: TransactionId(uid(6001)),
        external_id: "T9".into(),
        customer_id: Some(CustomerId(uid(4242))),
        ..t.clone()
    };
    assert!(matches!(
        s.record_transaction(&bad_ref),
        Err(StoreError::Invalid {
            field: "customer_id",
            ..
        })
    ));
    let bad_qty = Transaction {
        id: TransactionId(uid(6002)),
        external_id: "T10".into(),
        lines: vec![Line {
            quantity: -1,
            ..t.lines[0].clone()
        }],
        ..t
    };
    assert!(matches!(
        s.record_transaction(&bad_qty),
        Err(StoreError::Invalid { field: "quantity", .. })
    ));
    assert_eq!(s.store.counts().unwrap().transactions, 4);
}

pub fn interactions_are_recorded_once_and_audited_without_their_text(s: &App) {
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    let i = Interaction {
        id: InteractionId(uid(8000)),
        external_id: Some("I1".into()),
        customer_id: c.id,
        channel: Channel::Store,
        kind: InteractionKind::Complaint,
        occurred_at: at("2025-03-02T08:00:00Z"),
        text: Some("Beans were stale".into()),
        employee_id: None,
        satisfaction: Some(2),
        status: Some(InteractionStatus::Open),
    };
    assert!(s.record_interaction(&i, &actor()).unwrap().created);
    let again = Interaction {
        id: InteractionId(uid(8001)),
        ..i.clone()
    };
    let r = s.record_interaction(&again, &actor()).unwrap();
    assert!(!r.created);
    assert_eq!(r.value, i);
    assert_eq!(s.store.get_interaction(i.id).unwrap().unwrap(), i);
    assert_eq!(
        s.store.list_interactions(Some(c.id), 10, 0).unwrap().items,
        vec![i.clone()]
    );
    // Audited once (the retry wrote nothing), on the customer, without the free text.
    let log: Vec<AuditEntry> = s
        .store
        .audit_for_entity(&c.id.to_string())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "interaction.record")
        .collect();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].actor.as_str(), log[0].origin.as_deref()),
        ("test", Some("127.0.0.1"))
    );
    let after = log[0].after.clone().unwrap();
    assert_eq!(after["interaction_id"], i.id.to_string());
    assert_eq!(
        (after["kind"].as_str(), after["satisfaction"].as_i64()),
        (Some("complaint"), Some(2))
    );
    assert!(!after.to_string().contains("stale"));
    let bad = Interaction {
        id: InteractionId(uid(8002)),
        external_id: None,
        satisfaction: Some(9),
        ..i
    };
    assert!(matches!(
        s.record_interaction(&bad, &actor()),
        Err(StoreError::Invalid {
            field: "satisfaction",
            ..
        })
    ));
}

/// Customer M2 (a phone, an e-mail, a city, a child M3, a sale and an interaction) merged into
/// M1 (a phone and a sale); returns the merge's report, the kept id, the dropped id, the child id.
fn merged(s: &App) -> (MergeReport, CustomerId, CustomerId, CustomerId) {
    let (b, _, p) = seed_reference(&*s.store);
    let mut keep = customer(1, "M1", "Dana Cohen");
    keep.phone = Some(Phone::parse("050-1111111", Country::israel()).unwrap());
    let mut drop = customer(2, "M2", "dana cohen");
    drop.phone = Some(Phone::parse("050-2222222", Country::israel()).unwrap());
    drop.email = Some(Email::parse("dana@example.com").unwrap());
    drop.demographics.city = Some("Haifa".into());
    s.insert_customer(&keep, &actor()).unwrap();
    s.insert_customer(&drop, &actor()).unwrap();
    let mut child = customer(3, "M3", "Child");
    child.parent_id = Some(drop.id);
    s.insert_customer(&child, &actor()).unwrap();
    s.record_transaction(&sale(1, "T1", Some(drop.id), b, p, "2025-03-01T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(2, "T2", Some(keep.id), b, p, "2025-03-02T10:00:00Z"))
        .unwrap();
    s.record_interaction(
        &Interaction {
            id: InteractionId(uid(8000)),
            external_id: None,
            customer_id: drop.id,
            channel: Channel::Phone,
            kind: InteractionKind::Call,
            occurred_at: at("2025-03-02T08:00:00Z"),
            text: None,
            employee_id: None,
            satisfaction: None,
            status: None,
        },
        &actor(),
    )
    .unwrap();

    let r = s.merge_customers(keep.id, drop.id, &actor()).unwrap();
    (r, keep.id, drop.id, child.id)
}

pub fn merge_moves_sales_interactions_children_and_identifiers(s: &App) {
    let (r, keep, drop, child) = merged(s);
    assert_eq!(
        (r.transactions_moved, r.interactions_moved, r.children_moved),
        (1, 1, 1)
    );
    assert_eq!(
        r.identifiers_moved,
        vec!["member:M2".to_string(), "phone:+972502222222".to_string()]
    );
    assert_eq!(s.store.get_customer(drop).unwrap(), None);
    assert_eq!(s.store.merged_into(drop).unwrap(), Some(keep));
    let kept = s.store.get_customer(keep).unwrap().unwrap();
    assert_eq!(kept.email.as_ref().map(|e| e.as_str()), Some("dana@example.com"));
    assert_eq!(kept.demographics.city.as_deref(), Some("Haifa"));
    assert_eq!(s.store.list_transactions(Some(keep), 10, 0).unwrap().total, 2);
    assert_eq!(s.store.list_interactions(Some(keep), 10, 0).unwrap().total, 1);
    assert_eq!(s.store.get_customer(child).unwrap().unwrap().parent_id, Some(keep));
    // What the export reads: the aliases and the merge, kept under the customer.
    let records = s.store.customer_records(keep).unwrap();
    assert_eq!(
        records.aliases,
        vec![
            ("member".to_string(), "M2".to_string()),
            ("phone".to_string(), "+972502222222".to_string())
        ]
    );
    assert_eq!(records.merged_in.iter().map(|m| m.0).collect::<Vec<_>>(), vec![drop]);
}

pub fn merged_away_identifiers_still_find_the_kept_customer(s: &App) {
    let (_, keep, _, _) = merged(s);
    // The dropped record's identifiers still recognise the customer.
    assert_eq!(
        s.store
            .lookup_customer(&Identifier::Member("M2".into()))
            .unwrap()
            .map(|c| c.id),
        Some(keep)
    );
    let old_phone = Identifier::Phone(Phone::parse("050-2222222", Country::israel()).unwrap());
    assert_eq!(s.store.lookup_customer(&old_phone).unwrap().map(|c| c.id), Some(keep));
    let mut imp = s.store.begin_import().unwrap();
    assert_eq!(imp.customer_ref("M2").unwrap(), Some(keep));
    drop_import(imp);
    // Nobody can take a merged-away identifier.
    let mut thief = customer(4, "M4", "x");
    thief.phone = Some(Phone::parse("050-2222222", Country::israel()).unwrap());
    assert!(matches!(
        s.insert_customer(&thief, &actor()),
        Err(StoreError::Conflict { field: "phone", .. })
    ));
}

pub fn merge_is_audited_and_refuses_itself_or_a_dropped_customer(s: &App) {
    let (_, keep, drop, _) = merged(s);
    let log = s.store.audit_log(1, 0).unwrap();
    assert_eq!(log[0].action, "customer.merge");
    assert_eq!(log[0].before.as_ref().unwrap()["dropped"]["member_no"], "M2");
    assert!(matches!(
        s.merge_customers(keep, keep, &actor()),
        Err(StoreError::Invalid { .. })
    ));
    assert!(matches!(
        s.merge_customers(keep, drop, &actor()),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.store.counts().unwrap().customers, 2);
}

fn drop_import(i: Box<dyn ImportTx + '_>) {
    drop(i);
}

pub fn imports_are_all_or_nothing(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    {
        let mut imp = s.store.begin_import().unwrap();
        assert_eq!(imp.insert_customer(&customer(1, "M1", "Dana")).unwrap(), Inserted::New);
        assert_eq!(imp.customer_ref("M1").unwrap(), Some(CustomerId(uid(1001))));
        assert_eq!(
            imp.insert_transaction(&sale(
                1,
                "T1",
                Some(CustomerId(uid(1001))),
                b,
                p,
                "2025-03-01T10:00:00Z"
            ))
            .unwrap(),
            Inserted::New
        );
        // Dropped without commit: nothing lands.
    }
    assert_eq!(s.store.counts().unwrap().customers, 0);
    assert_eq!(s.store.counts().unwrap().transactions, 0);
    let mut imp = s.store.begin_import().unwrap();
    assert_eq!(imp.branch_ref("B1").unwrap(), Some(b));
    assert_eq!(imp.product_ref("P1").unwrap(), Some(p));
    assert_eq!(imp.product_ref("nope").unwrap(), None);
    assert_eq!(imp.insert_customer(&customer(1, "M1", "Dana")).unwrap(), Inserted::New);
    assert_eq!(
        imp.insert_customer(&customer(2, "M1", "Again")).unwrap(),
        Inserted::Repeated
    );
    let t = sale(1, "T1", Some(CustomerId(uid(1001))), b, p, "2025-03-01T10:00:00Z");
    assert_eq!(imp.insert_transaction(&t).unwrap(), Inserted::New);
    assert_eq!(imp.insert_transaction(&t).unwrap(), Inserted::Repeated);
    imp.commit().unwrap();
    // A second unit of work sees the same rows as present before it began.
    let mut again = s.store.begin_import().unwrap();
    assert_eq!(
        again.insert_customer(&customer(2, "M1", "Again")).unwrap(),
        Inserted::AlreadyPresent
    );
    assert_eq!(again.insert_transaction(&t).unwrap(), Inserted::AlreadyPresent);
    let b2 = Branch {
        id: BranchId(uid(77)),
        external_id: "B1".into(),
        name: "x".into(),
        region: None,
        time_zone: "UTC".into(),
    };
    assert_eq!(again.insert_branch(&b2).unwrap(), Inserted::AlreadyPresent);
    again.commit().unwrap();
    let c = s.store.counts().unwrap();
    assert_eq!((c.customers, c.transactions, c.transaction_lines), (1, 1, 2));
}

pub fn delete_refuses_a_customer_with_transactions(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    let d = customer(2, "M2", "Dan");
    s.insert_customer(&c, &actor()).unwrap();
    s.insert_customer(&d, &actor()).unwrap();
    s.record_transaction(&sale(1, "T1", Some(c.id), b, p, "2025-03-01T10:00:00Z"))
        .unwrap();
    assert!(matches!(
        s.delete_customer(c.id, &actor()),
        Err(StoreError::Conflict { .. })
    ));
    s.delete_customer(d.id, &actor()).unwrap();
    assert_eq!(s.store.get_customer(d.id).unwrap(), None);
    assert!(matches!(
        s.delete_customer(d.id, &actor()),
        Err(StoreError::NotFound { .. })
    ));
}

fn score(c: CustomerId, as_of: &str, stage: &str) -> CustomerScore {
    CustomerScore {
        customer_id: c,
        as_of: at(as_of),
        model: "bgnbd".into(),
        stage: stage.to_string().into(),
        frequency: 2.0,
        recency: 30.5,
        t: 38.9,
        monetary: 2235.5,
        revenue: 6700,
        margin: Some(3100),
        p_alive: Some(0.71),
        expected_purchases: Some(1.25),
        clv: Some(4321.5),
        rfm: Some("545".into()),
        segment: Some("champions".into()),
        tier: Some("top".into()),
        wallet: Some(1_200_000),
        share_of_wallet: Some(0.25),
    }
}

/// Customers M1 (two sales, one refunded in part), M2 (one sale) and M3 (none), and an
/// anonymous sale; returns the three customers.
fn customers_with_sales(s: &App) -> (Customer, Customer, Customer) {
    let (b, _, p) = seed_reference(&*s.store);
    let c1 = customer(1, "M1", "Dana");
    let c2 = customer(2, "M2", "Eve");
    let c3 = customer(3, "M3", "Noa");
    for c in [&c1, &c2, &c3] {
        s.insert_customer(c, &actor()).unwrap();
    }
    s.record_transaction(&sale(1, "T1", Some(c2.id), b, p, "2025-03-02T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(2, "T2", Some(c1.id), b, p, "2025-03-05T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(3, "T3", Some(c1.id), b, p, "2025-03-01T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(4, "T4", None, b, p, "2025-03-01T10:00:00Z"))
        .unwrap();
    let refund = Transaction {
        id: TransactionId(uid(6100)),
        external_id: "R1".into(),
        refund_of: Some(TransactionId(uid(5002))),
        lines: vec![Line {
            product_id: Some(p),
            sku: Some("P1".into()),
            quantity: -1,
            unit_price: 8990,
            discount: 0,
        }],
        ..sale(5, "R1", Some(c1.id), b, p, "2025-03-06T10:00:00Z")
    };
    s.record_transaction(&refund).unwrap();
    (c1, c2, c3)
}

pub fn purchases_are_identified_sales_by_customer_and_time(s: &App) {
    let (c1, c2, c3) = customers_with_sales(s);
    let mut ids = s.store.customer_ids().unwrap();
    ids.sort();
    let mut want_ids = vec![c1.id, c2.id, c3.id];
    want_ids.sort();
    assert_eq!(ids, want_ids);
    let mut rows = Vec::new();
    s.store.for_each_purchase(&mut |r| rows.push(r.clone())).unwrap();
    // Identified sales only, by customer then time; the amount-only line has no cost.
    assert_eq!(rows.len(), 3);
    let mut expect = [
        (c1.id, "2025-03-01T10:00:00Z"),
        (c1.id, "2025-03-05T10:00:00Z"),
        (c2.id, "2025-03-02T10:00:00Z"),
    ];
    expect.sort_by_key(|(c, _)| *c);
    assert_eq!(
        rows.iter()
            .map(|r| (r.customer_id, r.occurred_at.to_string()))
            .collect::<Vec<_>>(),
        expect.iter().map(|(c, t)| (*c, t.to_string())).collect::<Vec<_>>()
    );
    assert_eq!(rows[0].amount, 2 * 8990 - 1000 + 500);
    assert_eq!(rows[0].cost, None);
    assert_eq!(rows[0].currency.as_str(), "ILS");
    // The same sales in any order.
    let mut any = Vec::new();
    s.store
        .for_each_purchase_any_order(&mut |r| any.push(r.clone()))
        .unwrap();
    let key = |r: &PurchaseRow| (r.customer_id, r.occurred_at, r.amount);
    any.sort_by_key(key);
    let mut sorted = rows.clone();
    sorted.sort_by_key(key);
    assert_eq!(any, sorted);
}

pub fn analysis_runs_and_stage_history(s: &App) {
    let (c1, c2, c3) = customers_with_sales(s);
    // March: c1 and c2 scored; c3 (no sale) has no row: an implicit prospect of the run.
    let march = vec![
        score(c1.id, "2025-03-31T00:00:00Z", "core"),
        score(c2.id, "2025-03-31T00:00:00Z", "first_time"),
    ];
    let implicit = s
        .store
        .replace_customer_scores(at("2025-03-31T00:00:00Z"), "bgnbd", &march)
        .unwrap();
    assert_eq!(implicit, 1);
    assert_eq!(s.store.customer_score(c1.id).unwrap().unwrap(), march[0]);
    let c3_march = CustomerScore::prospect(c3.id, at("2025-03-31T00:00:00Z"), "bgnbd");
    assert_eq!(s.store.customer_score(c3.id).unwrap(), Some(c3_march.clone()));
    assert_eq!(c3_march.stage, "prospect");
    assert_eq!(
        (c3_march.p_alive, c3_march.rfm.as_deref(), c3_march.wallet),
        (None, None, None)
    );
    let mut want = vec![march[0].clone(), march[1].clone(), c3_march];
    want.sort_by_key(|x| x.customer_id);
    assert_eq!(s.store.list_customer_scores().unwrap(), want);
    // A customer inserted after a run belongs to no run until the next one.
    let c4 = customer(4, "M4", "Lior");
    s.insert_customer(&c4, &actor()).unwrap();
    assert_eq!(s.store.customer_score(c4.id).unwrap(), None);
    assert_eq!(s.store.list_customer_scores().unwrap().len(), 3);

    // April: c3 has a row of its own (a prospect with a wallet estimate), c4 is implicit.
    let april = vec![
        score(c1.id, "2025-04-30T00:00:00Z", "at_risk"),
        score(c2.id, "2025-04-30T00:00:00Z", "first_time"),
        CustomerScore {
            wallet: Some(50_000),
            share_of_wallet: Some(0.0),
            ..CustomerScore::prospect(c3.id, at("2025-04-30T00:00:00Z"), "bgnbd")
        },
    ];
    let implicit = s
        .store
        .replace_customer_scores(at("2025-04-30T00:00:00Z"), "bgnbd", &april)
        .unwrap();
    assert_eq!(implicit, 1);
    let mut all = s.store.list_customer_scores().unwrap();
    all.sort_by_key(|x| x.customer_id);
    let mut want = april.clone();
    want.push(CustomerScore::prospect(c4.id, at("2025-04-30T00:00:00Z"), "bgnbd"));
    want.sort_by_key(|x| x.customer_id);
    assert_eq!(all, want);
    // A re-run in the same month whose stages changed: c1 defected, c3 lost its own row (an
    // implicit prospect now). The month then holds exactly that run's stages.
    let changed = vec![
        score(c1.id, "2025-04-30T06:00:00Z", "defected"),
        score(c2.id, "2025-04-30T06:00:00Z", "first_time"),
    ];
    s.store
        .replace_customer_scores(at("2025-04-30T06:00:00Z"), "bgnbd", &changed)
        .unwrap();
    let april_counts: Vec<_> = s
        .store
        .stage_counts()
        .unwrap()
        .into_iter()
        .filter(|(m, _, _)| m == "2025-04")
        .collect();
    let month_row = |st: &str, n: u64| ("2025-04".to_string(), st.to_string(), n);
    assert_eq!(
        april_counts,
        vec![
            month_row("defected", 1),
            month_row("first_time", 1),
            month_row("prospect", 2)
        ]
    );
    // Another re-run replaces that month's stages again (and the implicit prospects take its
    // date and model).
    s.store
        .replace_customer_scores(at("2025-04-30T12:00:00Z"), "pareto-nbd", &april)
        .unwrap();
    assert_eq!(
        s.store.customer_score(c4.id).unwrap(),
        Some(CustomerScore::prospect(c4.id, at("2025-04-30T12:00:00Z"), "pareto-nbd"))
    );
    // Every row is stored with the run's date and model, whatever the row said.
    let c1_now = s.store.customer_score(c1.id).unwrap().unwrap();
    assert_eq!(
        (c1_now.as_of, &*c1_now.model),
        (at("2025-04-30T12:00:00Z"), "pareto-nbd")
    );
    let row = |m: &str, st: &str, n: u64| (m.to_string(), st.to_string(), n);
    // March counts c3 (implicit) but not c4 (inserted after the March run); April counts c3
    // (its own row) and c4 (implicit).
    assert_eq!(
        s.store.stage_counts().unwrap(),
        vec![
            row("2025-03", "core", 1),
            row("2025-03", "first_time", 1),
            row("2025-03", "prospect", 1),
            row("2025-04", "at_risk", 1),
            row("2025-04", "first_time", 1),
            row("2025-04", "prospect", 2),
        ]
    );
    // c3 stayed a prospect; c4, absent in March, is new.
    assert_eq!(
        s.store.stage_transitions("2025-03", "2025-04").unwrap(),
        vec![
            row("core", "at_risk", 1),
            row("first_time", "first_time", 1),
            row("new", "prospect", 1),
            row("prospect", "prospect", 1),
        ]
    );
    // Backwards, an implicit prospect of March is one "to" row like the others.
    assert_eq!(
        s.store.stage_transitions("2025-04", "2025-03").unwrap(),
        vec![
            row("at_risk", "core", 1),
            row("first_time", "first_time", 1),
            row("prospect", "prospect", 1),
        ]
    );
    // A merge leaves no analysis behind for the dropped record.
    s.merge_customers(c1.id, c3.id, &actor()).unwrap();
    assert_eq!(s.store.customer_score(c3.id).unwrap(), None);
    assert_eq!(
        s.store.stage_counts().unwrap(),
        vec![
            row("2025-03", "core", 1),
            row("2025-03", "first_time", 1),
            row("2025-04", "at_risk", 1),
            row("2025-04", "first_time", 1),
            row("2025-04", "prospect", 1),
        ]
    );
    assert_eq!(
        s.store.stage_transitions("2025-03", "2025-04").unwrap(),
        vec![
            row("core", "at_risk", 1),
            row("first_time", "first_time", 1),
            row("new", "prospect", 1),
        ]
    );
    // Deleting an implicit prospect takes it out of every count.
    s.delete_customer(c4.id, &actor()).unwrap();
    assert_eq!(s.store.customer_score(c4.id).unwrap(), None);
    assert!(
        s.store
            .stage_counts()
            .unwrap()
            .iter()
            .all(|(_, st, _)| st != "prospect")
    );
    assert_eq!(s.store.list_customer_scores().unwrap().len(), 2);

    // A past month recorded after the fact (backfill), then replaced by a second backfill.
    s.store
        .record_stage_history("2025-02", &[(c1.id, "core"), (c2.id, "at_risk")])
        .unwrap();
    s.store
        .record_stage_history("2025-02", &[(c1.id, "first_time")])
        .unwrap();
    let mut tr = s.store.stage_transitions("2025-02", "2025-03").unwrap();
    tr.sort();
    assert_eq!(
        tr,
        vec![
            ("first_time".to_string(), "core".to_string(), 1),
            ("new".to_string(), "first_time".to_string(), 1),
        ]
    );

    // A month recorded explicitly holds exactly the customers given: no implicit prospects.
    let c5 = customer(5, "M5", "Tal");
    s.insert_customer(&c5, &actor()).unwrap();
    s.store
        .replace_customer_scores(at("2025-05-31T00:00:00Z"), "bgnbd", &march[..1])
        .unwrap();
    let may = |s: &App| {
        s.store
            .stage_counts()
            .unwrap()
            .into_iter()
            .filter(|r| r.0 == "2025-05")
            .map(|r| (r.1, r.2))
            .collect::<Vec<_>>()
    };
    assert_eq!(may(s), vec![("core".to_string(), 1), ("prospect".to_string(), 2)]);
    s.store.record_stage_history("2025-05", &[(c1.id, "core")]).unwrap();
    assert_eq!(may(s), vec![("core".to_string(), 1)]);
    let stages = s.store.customer_records(c1.id).unwrap().stages;
    assert!(
        stages.contains(&("2025-02".to_string(), "first_time".to_string()))
            && stages.contains(&("2025-05".to_string(), "core".to_string())),
        "{stages:?}"
    );
    assert_eq!(
        s.store.stage_transitions("2025-04", "2025-05").unwrap(),
        vec![row("at_risk", "core", 1)]
    );
}

pub fn wallet_estimates_read_the_attribute_as_written(s: &App) {
    let (_, c2, _) = customers_with_sales(s);
    assert_eq!(s.store.customer_wallets().unwrap(), vec![]);
    // Customers with the attribute, the value as written.
    let mut d = c2.clone();
    d.attributes
        .insert("estimated_annual_spend".into(), serde_json::json!("1200.50"));
    s.update_customer(&d, &actor()).unwrap();
    assert_eq!(
        s.store.customer_wallets().unwrap(),
        vec![(c2.id, "1200.50".to_string())]
    );
    d.attributes
        .insert("estimated_annual_spend".into(), serde_json::json!(900));
    s.update_customer(&d, &actor()).unwrap();
    assert_eq!(s.store.customer_wallets().unwrap(), vec![(c2.id, "900".to_string())]);
}

pub fn search_narrows_to_one_branch(s: &App) {
    let (b, _, _) = seed_reference(&*s.store);
    let b2 = Branch {
        id: BranchId(uid(11)),
        external_id: "B2".into(),
        name: "Haifa".into(),
        region: None,
        time_zone: "Asia/Jerusalem".into(),
    };
    s.store.insert_branch(&b2).unwrap();
    for (i, branch) in [Some(b), Some(b2.id), Some(b), None].into_iter().enumerate() {
        let mut c = customer(i as u128, &format!("M{i}"), "Dana");
        c.source_branch = branch;
        s.insert_customer(&c, &actor()).unwrap();
    }
    let q = |branch| CustomerQuery {
        text: Some("dana".into()),
        branch,
        limit: 50,
        ..Default::default()
    };
    assert_eq!(s.store.search_customers(&q(None)).unwrap().total, 4);
    let p = s.store.search_customers(&q(Some(b))).unwrap();
    assert_eq!(p.total, 2);
    assert!(p.items.iter().all(|c| c.source_branch == Some(b)));
    assert_eq!(s.store.search_customers(&q(Some(b2.id))).unwrap().total, 1);
}

/// Clerk "dana" of branch `b`.
fn clerk(b: BranchId) -> kesher_store::User {
    kesher_store::User {
        id: kesher_core::UserId(uid(70)),
        username: "dana".into(),
        display_name: Some("Dana".into()),
        role: kesher_auth::Role::Clerk,
        branch: Some(b),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        created_at: at("2025-01-01T00:00:00Z"),
    }
}

pub fn users_are_unique_and_their_updates_audited_without_the_hash(s: &App) {
    use kesher_auth::Role;
    use kesher_store::User;
    let (b, _, _) = seed_reference(&*s.store);
    assert_eq!(s.store.count_users().unwrap(), 0);
    let mut u = clerk(b);
    s.insert_user(&u, &actor()).unwrap();
    let again = User {
        id: kesher_core::UserId(uid(71)),
        ..u.clone()
    };
    match s.insert_user(&again, &actor()) {
        Err(StoreError::Conflict { field, .. }) => assert_eq!(field, "username"),
        other => panic!("expected a username conflict, got {other:?}"),
    }
    assert_eq!(s.store.get_user(u.id).unwrap().as_ref(), Some(&u));
    assert_eq!(s.store.user_by_name("dana").unwrap().as_ref(), Some(&u));
    assert_eq!(s.store.user_by_name("nobody").unwrap(), None);
    u.role = Role::BranchManager;
    u.disabled = true;
    u.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI".into();
    s.update_user(&u, &actor()).unwrap();
    assert_eq!(s.store.list_users().unwrap(), vec![u.clone()]);
    assert_eq!(s.store.count_users().unwrap(), 1);
    let log = s.store.audit_for_entity(&u.id.to_string()).unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["user.create", "user.update"]
    );
    let upd = &log[1];
    assert_eq!(upd.before.as_ref().unwrap()["role"], "clerk");
    assert_eq!(upd.after.as_ref().unwrap()["role"], "branch_manager");
    assert_eq!(upd.after.as_ref().unwrap()["password_changed"], true);
    assert_eq!(upd.origin.as_deref(), Some("127.0.0.1"));
    assert!(
        !upd.after.as_ref().unwrap().to_string().contains("argon2"),
        "no hash in the log"
    );
}

pub fn tokens_are_found_by_digest_and_revoked_once(s: &App) {
    use kesher_auth::{Action, Role};
    use kesher_store::ApiToken;
    let (b, _, _) = seed_reference(&*s.store);
    let t = ApiToken {
        id: kesher_core::TokenId(uid(80)),
        name: "pos-1".into(),
        role: Role::PosDevice,
        branch: Some(b),
        scopes: vec![Action::CustomersLookup, Action::TransactionsRecord],
        digest: "d".repeat(64),
        hint: "ksr_abcdef".into(),
        created_at: at("2025-01-01T00:00:00Z"),
        created_by: "user:admin".into(),
        expires_at: Some(at("2026-01-01T00:00:00Z")),
        revoked_at: None,
    };
    s.insert_token(&t, &actor()).unwrap();
    assert_eq!(s.store.token_by_digest(&t.digest).unwrap().as_ref(), Some(&t));
    assert_eq!(s.store.token_by_digest("nope").unwrap(), None);
    let later = Actor::new("admin", at("2025-02-01T00:00:00Z"));
    let revoked = s.revoke_token_id(t.id, &later).unwrap();
    assert_eq!(revoked.revoked_at, Some(at("2025-02-01T00:00:00Z")));
    let twice = s
        .revoke_token_id(t.id, &Actor::new("admin", at("2025-03-01T00:00:00Z")))
        .unwrap();
    assert_eq!(
        twice.revoked_at, revoked.revoked_at,
        "revoking again keeps the first time"
    );
    assert_eq!(s.store.list_tokens().unwrap(), vec![revoked]);
    assert!(matches!(
        s.revoke_token_id(kesher_core::TokenId(uid(81)), &later),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn sessions_expire_and_are_deleted(s: &App) {
    use kesher_store::Session;
    let (b, _, _) = seed_reference(&*s.store);
    let u = clerk(b);
    s.insert_user(&u, &actor()).unwrap();
    let sess = Session {
        digest: "a".repeat(64),
        user_id: u.id,
        csrf_digest: "c".repeat(64),
        created_at: at("2025-01-01T00:00:00Z"),
        expires_at: at("2025-01-01T12:00:00Z"),
    };
    s.store.insert_session(&sess).unwrap();
    assert_eq!(
        s.store
            .session_by_digest(&sess.digest, at("2025-01-01T11:59:59Z"))
            .unwrap(),
        Some(sess.clone())
    );
    assert_eq!(
        s.store
            .session_by_digest(&sess.digest, at("2025-01-01T12:00:00Z"))
            .unwrap(),
        None,
        "expired"
    );
    s.store.delete_session(&sess.digest).unwrap();
    assert_eq!(
        s.store
            .session_by_digest(&sess.digest, at("2025-01-01T01:00:00Z"))
            .unwrap(),
        None
    );
    for k in ["1", "2"] {
        s.store
            .insert_session(&Session {
                digest: k.repeat(64),
                ..sess.clone()
            })
            .unwrap();
    }
    assert_eq!(s.store.delete_user_sessions(u.id).unwrap(), 2);
}

/// Customer M1 with every kind of personal data (and a duplicate M2 merged into it: its phone
/// and member number become aliases), a sale, an interaction naming the phone, and an
/// anonymous sale; then M1 erased. Returns the erasure's report, M1, M2, the branch and the
/// business's totals before and after the erasure.
fn erased(
    s: &App,
) -> (
    kesher_store::ErasureReport,
    CustomerId,
    CustomerId,
    BranchId,
    [BusinessTotals; 2],
) {
    let (b, _, p) = seed_reference(&*s.store);
    let mut c = customer(1, "M1", "דנה כהן");
    c.phone = Some(Phone::parse("050-1234567", Country::israel()).unwrap());
    c.email = Some(Email::parse("dana@example.com").unwrap());
    c.card = Some("CARD-1".into());
    c.demographics.birth_date = Some("1985-04-12".parse().unwrap());
    c.demographics.city = Some("Tel Aviv".into());
    c.attributes.insert("needs".into(), serde_json::json!("gluten free"));
    c.source_branch = Some(b);
    c.consents = vec![Consent {
        channel: ConsentChannel::Email,
        state: ConsentState::Granted,
        at: at("2024-06-01T10:00:00Z"),
        source: "branch B1".into(),
    }];
    s.insert_customer(&c, &actor()).unwrap();
    // A duplicate merged into it: its card becomes an alias, its create entry names its PII.
    let mut d = customer(2, "M2", "Dana Cohen");
    d.phone = Some(Phone::parse("052-7654321", Country::israel()).unwrap());
    s.insert_customer(&d, &actor()).unwrap();
    s.merge_customers(c.id, d.id, &actor()).unwrap();
    s.record_transaction(&sale(1, "T1", Some(c.id), b, p, "2024-07-01T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(2, "T2", None, b, p, "2024-07-02T10:00:00Z"))
        .unwrap();
    s.record_interaction(
        &Interaction {
            id: InteractionId(uid(9001)),
            external_id: None,
            customer_id: c.id,
            channel: Channel::Phone,
            kind: InteractionKind::Complaint,
            occurred_at: at("2024-07-03T10:00:00Z"),
            text: Some("Dana called from 050-1234567 about her order".into()),
            employee_id: None,
            satisfaction: Some(2),
            status: Some(InteractionStatus::Open),
        },
        &actor(),
    )
    .unwrap();
    let before = business_totals(s);
    let report = s.erase_customer(c.id, &actor()).unwrap();
    (report, c.id, d.id, b, [before, business_totals(s)])
}

/// Purchases (count, sum), customers, transactions, lines, interactions.
type BusinessTotals = (u64, i64, u64, u64, u64, u64);

fn business_totals(s: &App) -> BusinessTotals {
    let mut n = 0;
    let mut sum = 0;
    s.store
        .for_each_purchase(&mut |r| {
            n += 1;
            sum += r.amount;
        })
        .unwrap();
    let c = s.store.counts().unwrap();
    (n, sum, c.customers, c.transactions, c.transaction_lines, c.interactions)
}

pub fn erasure_keeps_the_business_totals(s: &App) {
    let (report, _, _, _, [before, after]) = erased(s);
    assert_eq!(report.interactions_cleared, 1);
    assert!(report.aliases_removed >= 1, "{report:?}");
    assert!(report.consent_events_removed >= 1);
    assert!(report.audit_entries_redacted >= 2, "{report:?}");
    assert_eq!(after, before, "the business's totals do not change");
}

pub fn erasure_clears_the_profile_and_every_identifier(s: &App) {
    let (_, c, d, b, _) = erased(s);
    let e = s.store.get_customer(c).unwrap().unwrap();
    assert_eq!(
        (e.name, e.member_no, e.phone, e.email, e.card),
        (None, None, None, None, None)
    );
    assert_eq!(e.demographics, Demographics::default());
    assert!(e.attributes.is_empty());
    assert_eq!(
        e.source_branch,
        Some(b),
        "the branch is not personal and keeps the totals per branch"
    );
    assert!(e.consents.iter().all(|k| k.state == ConsentState::Withdrawn));
    assert!(s.store.erased_at(c).unwrap().is_some());
    assert_eq!(s.store.erased_at(d).unwrap(), None);
    for ident in [
        Identifier::Phone(Phone::parse("050-1234567", Country::israel()).unwrap()),
        Identifier::Phone(Phone::parse("052-7654321", Country::israel()).unwrap()),
        Identifier::Card("CARD-1".into()),
        Identifier::Member("M2".into()),
    ] {
        assert_eq!(
            s.store.lookup_customer(&ident).unwrap(),
            None,
            "{ident:?} still finds them"
        );
    }
    let i = s.store.list_interactions(Some(c), 10, 0).unwrap();
    assert_eq!(i.items[0].text, None);
    assert_eq!(i.items[0].satisfaction, Some(2));
    assert_eq!(s.store.list_transactions(Some(c), 10, 0).unwrap().total, 1);
}

pub fn erasure_leaves_no_personal_data_in_the_audit_log(s: &App) {
    erased(s);
    // No personal data left in the audit log, and the erasure itself is recorded.
    let whole: String = s
        .store
        .audit_log(1000, 0)
        .unwrap()
        .iter()
        .map(|e| format!("{:?} {:?}", e.before, e.after))
        .collect();
    for pii in [
        "דנה",
        "Dana Cohen",
        "1234567",
        "7654321",
        "CARD-1",
        "gluten",
        "dana@example.com",
    ] {
        assert!(!whole.contains(pii), "{pii} is still in the audit log");
    }
    assert!(s.store.has_audit_action("customer.erase").unwrap());
}

pub fn erasing_twice_changes_nothing(s: &App) {
    let (_, c, _, _, _) = erased(s);
    assert_eq!(
        s.erase_customer(c, &actor()).unwrap(),
        kesher_store::ErasureReport::default()
    );
    assert!(matches!(
        s.erase_customer(CustomerId(uid(424242)), &actor()),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn retention_finds_inactive_customers_but_not_erased_ones(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let mut ids = Vec::new();
    for i in 0..4u128 {
        let c = customer(i, &format!("M{i}"), "X");
        s.insert_customer(&c, &actor()).unwrap();
        ids.push(c.id);
    }
    // 0: bought in 2020 only; 1: bought in 2024; 2: a contact in 2024; 3: nothing since 2024-06.
    s.record_transaction(&sale(1, "T1", Some(ids[0]), b, p, "2020-01-01T10:00:00Z"))
        .unwrap();
    s.record_transaction(&sale(2, "T2", Some(ids[1]), b, p, "2024-01-01T10:00:00Z"))
        .unwrap();
    s.record_interaction(
        &Interaction {
            id: InteractionId(uid(9002)),
            external_id: None,
            customer_id: ids[2],
            channel: Channel::Phone,
            kind: InteractionKind::Call,
            occurred_at: at("2024-01-01T10:00:00Z"),
            text: None,
            employee_id: None,
            satisfaction: None,
            status: None,
        },
        &actor(),
    )
    .unwrap();
    // customer() registers everyone on 2024-06-01.
    assert_eq!(
        s.store.inactive_customers(at("2024-01-01T00:00:00Z")).unwrap(),
        Vec::<CustomerId>::new()
    );
    let mut expect = vec![ids[0], ids[1], ids[2], ids[3]];
    expect.sort();
    assert_eq!(s.store.inactive_customers(at("2024-07-01T00:00:00Z")).unwrap(), expect);
    s.erase_customer(ids[3], &actor()).unwrap();
    assert!(
        !s.store
            .inactive_customers(at("2024-07-01T00:00:00Z"))
            .unwrap()
            .contains(&ids[3])
    );
}

pub fn settings_are_audited(s: &App) {
    assert_eq!(s.store.get_setting("privacy.retention_years").unwrap(), None);
    s.put_setting("privacy.retention_years", "3", &actor()).unwrap();
    s.put_setting("privacy.retention_years", "5", &actor()).unwrap();
    assert_eq!(
        s.store.get_setting("privacy.retention_years").unwrap().as_deref(),
        Some("5")
    );
    let log = s.store.audit_for_entity("privacy.retention_years").unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].before.as_ref().unwrap()["value"], "3");
}

pub fn settings_are_listed_by_literal_prefix_and_deleted(s: &App) {
    // Keys under one prefix, in key order; deleting is audited and says whether there was one.
    s.put_setting("segment.vip", "{\"expression\":\"clv > 1\"}", &actor())
        .unwrap();
    s.put_setting("segment.all", "{\"expression\":\"true\"}", &actor())
        .unwrap();
    s.put_setting("segmentation", "other", &actor()).unwrap();
    let under = s.store.settings_with_prefix("segment.").unwrap();
    assert_eq!(
        under.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["segment.all", "segment.vip"]
    );
    assert_eq!(under[1].1, "{\"expression\":\"clv > 1\"}");
    assert!(s.delete_setting("segment.vip", &actor()).unwrap());
    assert!(!s.delete_setting("segment.vip", &actor()).unwrap());
    assert_eq!(s.store.settings_with_prefix("segment.").unwrap().len(), 1);
    let log = s.store.audit_for_entity("segment.vip").unwrap();
    assert_eq!(log.last().map(|e| e.action.as_str()), Some("setting.delete"));
    assert!(log.last().unwrap().after.is_none());
    // A prefix with LIKE's wildcards in it matches literally.
    assert!(s.store.settings_with_prefix("segment%").unwrap().is_empty());
}

pub fn every_customer_streams_once_in_id_order(s: &App) {
    let mut empty = Vec::new();
    s.store
        .for_each_customer(&mut |c| {
            empty.push(c.id);
            Ok(())
        })
        .unwrap();
    assert!(empty.is_empty());
    // Customers with and without consents, inserted out of id order; one deleted.
    for (n, member, consents) in [
        (5u128, "M5", 2usize),
        (2, "M2", 0),
        (9, "M9", 1),
        (3, "M3", 3),
        (7, "M7", 1),
    ] {
        let mut c = customer(n, member, member);
        let channels = [ConsentChannel::Email, ConsentChannel::Sms, ConsentChannel::Phone];
        c.consents = channels[..consents]
            .iter()
            .map(|ch| Consent {
                channel: *ch,
                state: ConsentState::Granted,
                at: at("2025-01-01T00:00:00Z"),
                source: format!("test-{n}"),
            })
            .collect();
        s.insert_customer(&c, &actor()).unwrap();
    }
    s.delete_customer(CustomerId(uid(1009)), &actor()).unwrap();
    let mut seen = Vec::new();
    s.store
        .for_each_customer(&mut |c| {
            seen.push(c.clone());
            Ok(())
        })
        .unwrap();
    let mut ids = s.store.customer_ids().unwrap();
    ids.sort();
    assert_eq!(
        seen.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids,
        "every customer once, in id order"
    );
    for c in &seen {
        assert_eq!(Some(c), s.store.get_customer(c.id).unwrap().as_ref());
    }
    assert_eq!(seen.iter().map(|c| c.consents.len()).sum::<usize>(), 6);
    // An error from the callback stops the walk and comes back.
    let mut calls = 0;
    let r = s.store.for_each_customer(&mut |_| {
        calls += 1;
        Err(StoreError::Backend("stop".into()))
    });
    assert!(r.is_err() && calls == 1);
}
