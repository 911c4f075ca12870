#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use jiff::{SignedDuration, Timestamp};
use kesher_core::BranchId;

fn principal(role: Role, branch: Option<BranchId>, scopes: Vec<Action>) -> Principal {
    Principal {
        kind: PrincipalKind::User(kesher_core::UserId(uuid_from(1))),
        name: "user:t".into(),
        role,
        branch,
        scopes,
    }
}

fn uuid_from(n: u8) -> uuid::Uuid {
    uuid::Uuid::from_bytes([n; 16])
}

#[test]
fn admin_may_do_everything_and_analyst_never_sees_identifiers() {
    for a in Action::ALL {
        assert_eq!(grant(Role::Admin, a), Grant::Allow, "{a}");
    }
    assert_eq!(grant(Role::Analyst, Action::CustomersRead), Grant::Anonymised);
    assert_eq!(grant(Role::Analyst, Action::InteractionsRead), Grant::Anonymised);
    for a in [
        Action::CustomersLookup,
        Action::CustomersExport,
        Action::CustomersEnrol,
        Action::TransactionsRecord,
        Action::Import,
        Action::AuditRead,
    ] {
        assert_eq!(grant(Role::Analyst, a), Grant::Deny, "analyst {a}");
    }
}

#[test]
fn only_admins_export_erase_import_and_manage_people() {
    for a in [
        Action::CustomersExport,
        Action::CustomersErase,
        Action::Import,
        Action::AuditRead,
        Action::UsersManage,
        Action::TokensManage,
        Action::PrivacyManage,
    ] {
        for r in Role::ALL {
            let expected = if r == Role::Admin { Grant::Allow } else { Grant::Deny };
            assert_eq!(grant(r, a), expected, "{r} {a}");
        }
    }
}

#[test]
fn branch_scoping() {
    let b1 = BranchId(uuid_from(1));
    let b2 = BranchId(uuid_from(2));
    let clerk = principal(Role::Clerk, Some(b1), vec![]);
    assert_eq!(clerk.check(Action::TransactionsRecord, Some(b1)), Ok(Access::Full));
    assert_eq!(
        clerk.check(Action::TransactionsRecord, Some(b2)),
        Err(Denied::OtherBranch {
            action: Action::TransactionsRecord
        })
    );
    assert!(
        clerk.check(Action::CustomersRead, None).is_err(),
        "a customer of no branch"
    );
    assert_eq!(clerk.branch_filter(Action::CustomersRead), Ok(Some(b1)));
    assert_eq!(clerk.check(Action::CustomersLookup, Some(b2)), Ok(Access::Full));
    assert!(matches!(clerk.may(Action::CustomersExport), Err(Denied::Role { .. })));
    // A clerk without a branch may do nothing branch-scoped.
    let lost = principal(Role::Clerk, None, vec![]);
    assert!(lost.check(Action::TransactionsRecord, Some(b1)).is_err());
    assert!(lost.branch_filter(Action::CustomersRead).is_err());
    let mm = principal(Role::MarketingManager, None, vec![]);
    assert_eq!(mm.branch_filter(Action::CustomersRead), Ok(None));
    let analyst = principal(Role::Analyst, None, vec![]);
    assert_eq!(analyst.check(Action::CustomersRead, Some(b2)), Ok(Access::Anonymised));
}

#[test]
fn token_scopes_narrow_the_role() {
    let b1 = BranchId(uuid_from(1));
    let pos = principal(Role::PosDevice, Some(b1), vec![Action::CustomersLookup]);
    assert!(pos.may(Action::CustomersLookup).is_ok());
    assert_eq!(
        pos.may(Action::TransactionsRecord),
        Err(Denied::Scope {
            action: Action::TransactionsRecord
        })
    );
    // A scope cannot widen a role.
    let pos = principal(Role::PosDevice, Some(b1), vec![Action::Import]);
    assert!(matches!(pos.may(Action::Import), Err(Denied::Role { .. })));
}

#[test]
fn names_round_trip() {
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()), Ok(r));
    }
    for a in Action::ALL {
        assert_eq!(Action::parse(a.as_str()), Ok(a));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{}\"", a.as_str()));
    }
    assert!(Role::parse("root").unwrap_err().contains("admin, marketing_manager"));
}

#[test]
fn the_documented_matrix_is_the_code() {
    let doc = include_str!("../../../docs/permissions.md");
    assert!(
        doc.contains(&matrix_markdown()),
        "docs/permissions.md is out of date; paste in:\n{}",
        matrix_markdown()
    );
}

#[test]
fn passwords_hash_with_argon2id_and_verify() {
    let h = hash_password("correct horse battery", [7; 16]).unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert!(verify_password("correct horse battery", &h).unwrap());
    assert!(!verify_password("correct horse batterz", &h).unwrap());
    assert_ne!(h, hash_password("correct horse battery", [8; 16]).unwrap(), "salted");
    assert_eq!(hash_password("short", [7; 16]), Err(PasswordError::TooShort(10)));
    assert_eq!(verify_password("x", "not a hash"), Err(PasswordError::BadHash));
}

#[test]
fn tokens_are_stored_as_digests() {
    let t = TokenSecret::from_random([0xab; 32]);
    assert!(TokenSecret::looks_valid(&t.0));
    assert_eq!(t.0.len(), 68);
    assert_eq!(t.hint(), "ksr_ababab");
    assert_eq!(t.digest().len(), 64);
    assert_ne!(t.digest(), t.0);
    // Known SHA-256 vector.
    assert_eq!(
        hash_secret("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(!TokenSecret::looks_valid("ksr_xyz"));
    assert!(!SessionSecret::looks_valid(&"g".repeat(64)));
}

#[test]
fn rate_limiter_allows_a_burst_then_refills() {
    let l = RateLimiter::new(Rate {
        burst: 3,
        per_second: 0.5,
    });
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    for _ in 0..3 {
        assert_eq!(l.check("ip:1", t0), Ok(()));
    }
    assert_eq!(l.check("ip:1", t0), Err(2));
    assert_eq!(l.check("ip:2", t0), Ok(()), "keys are separate");
    let t1 = t0 + SignedDuration::from_secs(2);
    assert_eq!(l.check("ip:1", t1), Ok(()));
    assert!(l.check("ip:1", t1).is_err());
    l.reset("ip:1");
    assert_eq!(l.check("ip:1", t1), Ok(()));
}

proptest::proptest! {
    #[test]
    fn never_more_than_burst_plus_refill(gaps in proptest::collection::vec(0u32..3000, 1..200)) {
        let l = RateLimiter::new(Rate { burst: 5, per_second: 2.0 });
        let mut t = Timestamp::from_second(1_800_000_000).unwrap();
        let start = t;
        let mut allowed = 0u32;
        for g in gaps {
            t += SignedDuration::from_millis(i64::from(g));
            if l.check("k", t).is_ok() { allowed += 1; }
        }
        let secs = t.duration_since(start).as_secs_f64();
        proptest::prop_assert!(f64::from(allowed) <= 5.0 + secs * 2.0 + 1e-9);
    }
}
