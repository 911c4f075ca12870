//! The loyalty program's workflows, written once over the store's unit of work: set the program,
//! enrol a customer (its conditions checked, the data collected scored, who enrolled them where),
//! leave, the accrual of a sale under the program (with its breakdown and an immediate tier
//! upgrade), the end-of-period tier review, and a member's wallet. The rules are
//! `kesher_loyalty::program`'s; this module reads the facts and writes the rows
//! (docs/loyalty.md).

use crate::App;
use crate::points::loyalty_error;
use jiff::{SignedDuration, Timestamp};
use kesher_core::{BranchId, CustomerId, EmployeeId, Params, ProductId, Transaction};
use kesher_loyalty::program::{
    Accrual, JoiningFacts, MemberFacts, Program, Progress, QualifyBy, SaleContext, SaleLine, data_quality, days_between,
};
use kesher_loyalty::{Member, MemberEvent, MemberEventKind, MemberStatus, SaleMembership, TierChange};
use kesher_store::{Actor, Lock, Result, StoreError, Tx};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// The settings row the program's definition is kept in.
pub const PROGRAM_SETTING: &str = "loyalty.program";
/// Members reviewed per unit of work by the tier review.
const REVIEW_PAGE: usize = 500;

/// The parsed program, kept beside the text it was parsed from (a sale reads the text in its
/// unit and parses it only when it changed).
#[derive(Default)]
pub(crate) struct ProgramCache(Mutex<Option<(String, Arc<Program>)>>);

impl ProgramCache {
    fn get(&self, text: &str) -> Result<Arc<Program>> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, p)) = g.as_ref()
            && t == text
        {
            return Ok(p.clone());
        }
        let p = Arc::new(Program::parse(text).map_err(loyalty_error)?);
        *g = Some((text.to_string(), p.clone()));
        Ok(p)
    }
}

/// A request to enrol a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub customer: CustomerId,
    /// Where and by whom (the enrolment quality per employee and branch).
    pub branch: Option<BranchId>,
    pub employee: Option<EmployeeId>,
    /// The member who invited the customer (required by an invitation-only program).
    pub invited_by: Option<CustomerId>,
    /// The enrolment fee paid, minor units of the program's currency.
    pub fee_paid: i64,
}

/// An enrolment's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub member: Member,
    /// True when the customer had left and joined again.
    pub rejoined: bool,
}

/// A customer's wallet: the balance, the membership, the tier and the way to the next one, the
/// tier's benefits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub customer: CustomerId,
    pub balance: i64,
    /// The lots still holding points, oldest first, with their expiry (when the program sets a
    /// lifetime).
    pub lots: Vec<kesher_loyalty::expiry::Lot>,
    /// Points held for the return window (not spendable yet), and when the last of them becomes
    /// spendable.
    pub pending: i64,
    pub pending_until: Option<Timestamp>,
    pub member: Option<Member>,
    pub progress: Option<Progress>,
    pub tier_name: Option<String>,
    pub benefits: Vec<String>,
    /// The benefits granted and available now (`kesher_loyalty::benefits`), oldest first.
    pub available: Vec<kesher_loyalty::benefits::Grant>,
}

/// What an expiry run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ExpiryReport {
    /// Customers whose oldest lots were looked at.
    pub examined: u64,
    /// Customers who lost points.
    pub customers: u64,
    /// Points that expired.
    pub points: i64,
}

/// What the tier review did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ReviewReport {
    pub reviewed: u64,
    pub downgraded: u64,
    pub upgraded: u64,
}

fn program_missing() -> StoreError {
    StoreError::invalid_coded(
        "loyalty.program.missing",
        "program",
        Params::new(),
        "no loyalty program is set: set one first",
    )
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// Read the program's definition inside a unit: `None` when none is set.
pub(crate) fn program_in(tx: &mut dyn Tx, cache: &ProgramCache) -> Result<Option<Arc<Program>>> {
    match tx.setting(PROGRAM_SETTING)? {
        Some(text) => cache.get(&text).map(Some),
        None => Ok(None),
    }
}

/// The qualifying value over the program's window ending at `at` (inclusive).
fn qualifying_value(tx: &mut dyn Tx, program: &Program, customer: CustomerId, at: Timestamp) -> Result<i64> {
    let Some(q) = program.qualification() else {
        return Ok(0);
    };
    let until = at + SignedDuration::from_micros(1);
    let a = tx.customer_activity(customer, program.currency(), at - days(q.days), until)?;
    Ok(match q.by {
        QualifyBy::Spend => a.spend.max(0),
        QualifyBy::Points => a.points.max(0),
    })
}

fn member_json(m: &Member) -> serde_json::Value {
    json!({
        "status": m.status.as_str(),
        "tier": m.tier,
        "quality": m.quality,
        "quality_missing": m.quality_missing,
        "branch_id": m.branch_id.map(|b| b.to_string()),
        "employee_id": m.employee_id.map(|e| e.to_string()),
        "invited_by": m.invited_by.map(|c| c.to_string()),
        "fee_paid": m.fee_paid,
    })
}

impl App {
    /// The program, `None` when none is set.
    pub fn loyalty_program(&self) -> Result<Option<Program>> {
        match self.store.get_setting(PROGRAM_SETTING)? {
            Some(text) => Ok(Some(self.program_cache.get(&text)?.as_ref().clone())),
            None => Ok(None),
        }
    }

    /// Set the program from its definition (JSON), checked first; audited with the definition
    /// before and after. One change at a time (the earning rule's lock).
    pub fn set_loyalty_program(&self, definition: &str, actor: &Actor) -> Result<Program> {
        let program = Program::parse(definition).map_err(loyalty_error)?;
        let text = program.to_json();
        let mut tx = self.store.begin(Lock::EarningRule)?;
        let before = tx.setting(PROGRAM_SETTING)?;
        tx.put_setting_row(PROGRAM_SETTING, &text)?;
        let as_json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap_or(serde_json::Value::Null);
        tx.append_audit(
            actor,
            "loyalty.program",
            "loyalty_program",
            "program",
            before.as_deref().map(as_json).as_ref(),
            Some(&as_json(&text)),
        )?;
        tx.commit()?;
        Ok(program)
    }

    /// Enrol a customer: the program's conditions checked (the first that fails is named), the
    /// data collected scored, the tier their history reaches, who enrolled them where and when;
    /// a customer who left joins again (`rejoin`). Audited in the same unit.
    pub fn enrol_member(&self, e: &Enrolment, actor: &Actor) -> Result<Enrolled> {
        if e.fee_paid < 0 || e.fee_paid > kesher_core::money::MAX_SALE_TOTAL {
            return Err(StoreError::invalid_coded(
                "money.negative",
                "fee_paid",
                Params::new(),
                "must not be negative",
            ));
        }
        let now = self.now();
        let today = now.to_zoned(self.business_time_zone()?).date();
        let mut tx = self.store.begin(Lock::Customers(&[e.customer]))?;
        let program = program_in(tx.as_mut(), &self.program_cache)?.ok_or_else(program_missing)?;
        let customer = tx
            .customer(e.customer)?
            .ok_or_else(|| StoreError::not_found("customer", e.customer))?;
        let before = tx.loyalty_member(e.customer)?;
        if before.as_ref().is_some_and(|m| m.status == MemberStatus::Active) {
            return Err(StoreError::conflict_coded(
                "loyalty.member.already",
                "customer_id",
                Params::new(),
                "the customer is already a member",
            ));
        }
        let invited = match e.invited_by {
            Some(by) => {
                let active =
                    by != e.customer && tx.loyalty_member(by)?.is_some_and(|m| m.status == MemberStatus::Active);
                if !active {
                    return Err(StoreError::invalid_coded(
                        "loyalty.member.not_member",
                        "invited_by",
                        Params::new(),
                        "the customer is not a member",
                    ));
                }
                true
            }
            None => false,
        };
        let until = now + SignedDuration::from_micros(1);
        let (spend_days, visit_days) = program.joining_windows();
        let spend = match spend_days {
            Some(d) => {
                tx.customer_activity(e.customer, program.currency(), now - days(d), until)?
                    .spend
            }
            None => 0,
        };
        let visits = match visit_days {
            Some(d) => {
                tx.customer_activity(e.customer, program.currency(), now - days(d), until)?
                    .visits
            }
            None => 0,
        };
        program
            .check_joining(&JoiningFacts {
                spend,
                visits,
                tenure_days: days_between(customer.created_at, now),
                invited,
                fee_paid: e.fee_paid,
            })
            .map_err(loyalty_error)?;
        let (quality, missing) = data_quality(&customer, today);
        let value = qualifying_value(tx.as_mut(), &program, e.customer, now)?;
        let tier = program.tier_for(value).map(|t| t.key.clone());
        let review = program.qualification().map(|q| now + days(q.days));
        let member = Member {
            customer_id: e.customer,
            status: MemberStatus::Active,
            tier_since: tier.as_ref().map(|_| now),
            tier_review_at: tier.as_ref().and(review),
            tier,
            enrolled_at: now,
            branch_id: e.branch,
            employee_id: e.employee,
            quality,
            quality_missing: missing,
            invited_by: e.invited_by,
            fee_paid: e.fee_paid,
            left_at: before.as_ref().and_then(|b| b.left_at),
        };
        let rejoined = before.is_some();
        tx.put_loyalty_member(&member)?;
        if let (Some(tier), Some(since)) = (&member.tier, member.tier_since) {
            crate::benefits::grant_tier_benefits(tx.as_mut(), &program, e.customer, tier, since, actor)?;
        }
        tx.insert_member_event(&MemberEvent {
            seq: 0,
            customer_id: e.customer,
            kind: if rejoined {
                MemberEventKind::Rejoin
            } else {
                MemberEventKind::Enrol
            },
            at: now,
            branch_id: e.branch,
            employee_id: e.employee,
            actor: actor.who.clone(),
            detail: json!({
                "tier": member.tier,
                "quality": quality,
                "quality_missing": member.quality_missing,
                "fee_paid": e.fee_paid,
                "invited_by": e.invited_by.map(|c| c.to_string()),
            })
            .to_string(),
        })?;
        tx.append_audit(
            actor,
            if rejoined { "loyalty.rejoin" } else { "loyalty.enrol" },
            "customer",
            &e.customer.to_string(),
            before.as_ref().map(member_json).as_ref(),
            Some(&member_json(&member)),
        )?;
        tx.commit()?;
        Ok(Enrolled { member, rejoined })
    }

    /// Record that a member left the program (their points stay theirs; the tier is dropped
    /// and given again by the history when they rejoin). Audited in the same unit.
    pub fn leave_program(&self, customer: CustomerId, branch: Option<BranchId>, actor: &Actor) -> Result<Member> {
        let now = self.now();
        let mut tx = self.store.begin(Lock::Customers(&[customer]))?;
        let before = tx
            .loyalty_member(customer)?
            .filter(|m| m.status == MemberStatus::Active)
            .ok_or_else(|| {
                StoreError::conflict_coded(
                    "loyalty.member.not_member",
                    "customer_id",
                    Params::new(),
                    "the customer is not a member",
                )
            })?;
        let member = Member {
            status: MemberStatus::Left,
            tier: None,
            tier_since: None,
            tier_review_at: None,
            left_at: Some(now),
            ..before.clone()
        };
        tx.put_loyalty_member(&member)?;
        tx.insert_member_event(&MemberEvent {
            seq: 0,
            customer_id: customer,
            kind: MemberEventKind::Leave,
            at: now,
            branch_id: branch,
            employee_id: None,
            actor: actor.who.clone(),
            detail: json!({ "tier": before.tier }).to_string(),
        })?;
        tx.append_audit(
            actor,
            "loyalty.leave",
            "customer",
            &customer.to_string(),
            Some(&member_json(&before)),
            Some(&member_json(&member)),
        )?;
        tx.commit()?;
        Ok(member)
    }

    /// A customer's wallet: balance, membership, tier and progress, the tier's benefits.
    pub fn wallet(&self, customer: CustomerId) -> Result<Wallet> {
        let balance = self.store.points_balance(customer)?;
        let program = self.loyalty_program()?;
        let now = self.now();
        let mut tx = self.store.begin(Lock::Writes)?;
        let member = tx.loyalty_member(customer)?;
        let (progress, tier_name, benefits) = match (&program, &member) {
            (Some(p), Some(m)) if m.status == MemberStatus::Active && !p.tiers().is_empty() => {
                let value = qualifying_value(tx.as_mut(), p, customer, now)?;
                let tier = m.tier.as_deref().and_then(|k| p.tier(k));
                (
                    Some(p.progress(m.tier.as_deref(), value)),
                    tier.map(|t| t.name.clone()),
                    tier.map(|t| t.benefits.clone()).unwrap_or_default(),
                )
            }
            _ => (None, None, Vec::new()),
        };
        let available: Vec<_> = tx
            .benefit_grants(customer)?
            .into_iter()
            .filter(|g| g.is_available(now))
            .collect();
        drop(tx);
        let entries = match &program {
            Some(p) if p.points_lifetime().is_some() || p.pending_window().is_some() => {
                self.store.points_entries(customer)?
            }
            _ => Vec::new(),
        };
        let lots = match program.as_ref().and_then(|p| p.points_lifetime()) {
            Some(lifetime) => kesher_loyalty::expiry::open_lots(&entries, lifetime),
            None => Vec::new(),
        };
        let held = entries.iter().filter(|e| e.available_at.is_some_and(|a| a > now));
        let pending = held.clone().map(|e| e.points).fold(0i64, i64::saturating_add);
        let pending_until = held.filter_map(|e| e.available_at).max();
        Ok(Wallet {
            customer,
            balance,
            lots,
            pending,
            pending_until,
            member,
            progress,
            tier_name,
            benefits,
            available,
        })
    }

    /// The members, by customer id after `after`, at most `limit`.
    pub fn loyalty_members(
        &self,
        status: Option<MemberStatus>,
        tier: Option<&str>,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        self.store.loyalty_members(status, tier, after, limit.clamp(1, 1000))
    }

    /// A membership's history, oldest first.
    pub fn member_events(&self, customer: CustomerId) -> Result<Vec<MemberEvent>> {
        self.store.member_events(customer)
    }

    /// Expire, for every customer, what is left of the lots earned one lifetime or more before
    /// `as_of` (the program's `expiry.lifetime_days`), oldest first: one `expire` entry per
    /// customer, each in its own unit under the customer's lock. Idempotent: a second run at the
    /// same instant finds nothing left. Without a lifetime nothing expires.
    pub fn expire_points(&self, as_of: Timestamp, actor: &Actor) -> Result<ExpiryReport> {
        let mut report = ExpiryReport::default();
        let Some(lifetime) = self.loyalty_program()?.and_then(|p| p.points_lifetime()) else {
            return Ok(report);
        };
        let Some(cutoff) = as_of.checked_sub(lifetime).ok() else {
            return Ok(report);
        };
        let mut after = None;
        loop {
            let page = self.store.customers_with_lots_before(cutoff, after, REVIEW_PAGE)?;
            let Some(last) = page.last().copied() else {
                return Ok(report);
            };
            after = Some(last);
            for customer in page {
                report.examined += 1;
                let mut tx = self.store.begin(Lock::Customers(&[customer]))?;
                let entries = tx.points_entries(customer)?;
                let balance = tx.points_balance(customer)?;
                let Some(posting) =
                    kesher_loyalty::expiry::expiry(&entries, lifetime, as_of, balance).map_err(loyalty_error)?
                else {
                    continue;
                };
                tx.insert_points_entry(&kesher_store::NewLedgerEntry {
                    customer,
                    posting,
                    reason: Some("expired"),
                    idempotency_key: None,
                    transaction: None,
                    branch: None,
                    actor,
                    breakdown: Vec::new(),
                    available_at: None,
                })?;
                tx.commit()?;
                report.customers += 1;
                report.points = report.points.saturating_add(-posting.points);
            }
        }
    }

    /// The end-of-period review: every active member whose review date has come is placed in
    /// the tier their qualifying value over the window reaches now — down as well as up — and
    /// reviewed again one window later. Idempotent: a member is reviewed once per period.
    pub fn review_tiers(&self, actor: &Actor) -> Result<ReviewReport> {
        let mut report = ReviewReport::default();
        let now = self.now();
        loop {
            let due = self.store.members_due_for_review(now, REVIEW_PAGE)?;
            if due.is_empty() {
                return Ok(report);
            }
            for m in due {
                let mut tx = self.store.begin(Lock::Customers(&[m.customer_id]))?;
                let Some(program) = program_in(tx.as_mut(), &self.program_cache)? else {
                    return Ok(report);
                };
                let Some(q) = program.qualification().cloned() else {
                    return Ok(report);
                };
                // Read again under the lock: another reviewer may have been first.
                let Some(current) = tx
                    .loyalty_member(m.customer_id)?
                    .filter(|c| c.status == MemberStatus::Active && c.tier_review_at.is_some_and(|r| r <= now))
                else {
                    continue;
                };
                let value = qualifying_value(tx.as_mut(), &program, m.customer_id, now)?;
                let to = program.tier_for(value).map(|t| t.key.clone());
                let rank = |k: &Option<String>| {
                    k.as_deref()
                        .and_then(|k| program.tiers().iter().position(|t| t.key == k))
                };
                let (was, will) = (rank(&current.tier), rank(&to));
                let mut next = current.clone();
                next.tier_review_at = Some(now + days(q.days));
                if was != will {
                    next.tier = to.clone();
                    next.tier_since = Some(now);
                    let kind = if will > was {
                        report.upgraded += 1;
                        MemberEventKind::TierUp
                    } else {
                        report.downgraded += 1;
                        MemberEventKind::TierDown
                    };
                    tx.insert_member_event(&MemberEvent {
                        seq: 0,
                        customer_id: m.customer_id,
                        kind,
                        at: now,
                        branch_id: None,
                        employee_id: None,
                        actor: actor.who.clone(),
                        detail: json!({ "from": current.tier, "to": to, "value": value, "review": true }).to_string(),
                    })?;
                }
                tx.put_loyalty_member(&next)?;
                if was != will
                    && let Some(tier) = &to
                {
                    crate::benefits::grant_tier_benefits(tx.as_mut(), &program, m.customer_id, tier, now, actor)?;
                }
                tx.commit()?;
                report.reviewed += 1;
            }
        }
    }
}

/// The accrual of a just-inserted sale under the program (`None` when no program is set: the
/// plain earning rule applies). Reads the member, the lines' products, the customer's activity;
/// writes nothing — [`crate::sales`] writes the entry, then calls [`upgrade_after_sale`].
pub(crate) struct ProgramAccrual {
    pub program: Arc<Program>,
    pub member: Option<Member>,
    pub accrual: Accrual,
    /// The member who invited this one and the points they get: this sale is the newcomer's
    /// first purchase as a member and the program pays referrals.
    pub referral: Option<(CustomerId, i64)>,
}

pub(crate) fn program_accrual(
    app: &App,
    tx: &mut dyn Tx,
    t: &Transaction,
    customer: CustomerId,
    total: i64,
) -> Result<Option<ProgramAccrual>> {
    let Some(program) = program_in(tx, &app.program_cache)? else {
        return Ok(None);
    };
    let member = tx
        .loyalty_member(customer)?
        .filter(|m| m.status == MemberStatus::Active);
    if member.is_none() && !program.non_members_earn() {
        return Ok(Some(ProgramAccrual {
            program,
            member,
            accrual: Accrual::default(),
            referral: None,
        }));
    }
    let ids: Vec<ProductId> = t.lines.iter().filter_map(|l| l.product_id).collect();
    let facts = if ids.is_empty() {
        Vec::new()
    } else {
        tx.product_facts(&ids)?
    };
    let lines: Vec<SaleLine> = t
        .lines
        .iter()
        .map(|l| {
            let f = l.product_id.and_then(|id| facts.iter().find(|f| f.id == id));
            SaleLine {
                net: l.total().unwrap_or(0),
                sku: f.map(|f| f.sku.clone()).or_else(|| l.sku.clone()),
                category: f.and_then(|f| f.category.clone()),
            }
        })
        .collect();
    debug_assert!(lines.iter().map(|l| l.net).sum::<i64>() == total || t.lines.is_empty());
    let branch = app.store.get_branch(t.branch_id)?;
    let zone = branch
        .as_ref()
        .and_then(|b| jiff::tz::TimeZone::get(&b.time_zone).ok())
        .map(Ok)
        .unwrap_or_else(|| app.business_time_zone())?;
    let local_date = t.occurred_at.to_zoned(zone).date();
    // Only the facts a bonus of the program reads are read (each is a query at the till).
    let bonuses = &program.definition().bonuses;
    let facts = match &member {
        Some(m) => {
            let visits_before = match bonuses.nth_visit {
                Some(_) => {
                    tx.customer_activity(customer, t.currency, Timestamp::MIN, t.occurred_at)?
                        .visits
                }
                None => 0,
            };
            // A sale from before the (re)joining is never the first purchase after it.
            let wanted = bonuses.first_purchase.is_some() || (bonuses.referral.is_some() && m.invited_by.is_some());
            let since = if !wanted || t.occurred_at < m.enrolled_at {
                1
            } else {
                tx.customer_activity(customer, t.currency, m.enrolled_at, t.occurred_at)?
                    .visits
            };
            let birth_date = match bonuses.birthday_month_multiplier {
                Some(_) => tx.customer(customer)?.and_then(|c| c.demographics.birth_date),
                None => None,
            };
            Some(MemberFacts {
                tier: m.tier.clone(),
                birth_date,
                visits_before,
                purchases_since_enrolment: since,
            })
        }
        None => None,
    };
    let referral = match (&member, &facts, bonuses.referral) {
        (Some(m), Some(f), Some(points)) if f.purchases_since_enrolment == 0 && total > 0 => {
            m.invited_by.map(|by| (by, points))
        }
        _ => None,
    };
    let base = tx.earning_rule()?.rate(t.currency);
    let accrual = program
        .accrue(&SaleContext {
            currency: t.currency,
            lines: &lines,
            branch: branch.as_ref().map(|b| b.external_id.as_str()),
            local_date,
            base,
            member: facts,
        })
        .map_err(loyalty_error)?;
    Ok(Some(ProgramAccrual {
        program,
        member,
        accrual,
        referral,
    }))
}

/// The referral bonus of a newcomer's first purchase as a member: to the member who invited
/// them, if still a member, once per newcomer ever (the entry's key `referral:NEWCOMER` on the
/// inviter's ledger), as an adjustment with the reason `referral` and the part
/// `bonus:referral`.
pub(crate) fn pay_referral(
    tx: &mut dyn Tx,
    newcomer: CustomerId,
    (inviter, points): (CustomerId, i64),
    t: &Transaction,
    actor: &Actor,
) -> Result<()> {
    if !tx
        .loyalty_member(inviter)?
        .is_some_and(|m| m.status == MemberStatus::Active)
    {
        return Ok(());
    }
    tx.lock_points(inviter)?;
    let key = format!("referral:{newcomer}");
    if tx.points_entry_by_key(inviter, &key)?.is_some() {
        return Ok(());
    }
    let balance = tx.points_balance(inviter)?;
    let posting = kesher_loyalty::Posting {
        kind: kesher_loyalty::EntryKind::Adjust,
        ..kesher_loyalty::earn_points(points, balance).map_err(loyalty_error)?
    };
    tx.insert_points_entry(&kesher_store::NewLedgerEntry {
        customer: inviter,
        posting,
        reason: Some("referral"),
        idempotency_key: Some(&key),
        transaction: Some(t.id),
        branch: Some(t.branch_id),
        actor,
        breakdown: vec![kesher_loyalty::Part {
            rule: "bonus:referral".into(),
            points,
        }],
        available_at: None,
    })?;
    Ok(())
}

/// After a member's sale: an immediate upgrade when the qualifying value now reaches a higher
/// tier (a downgrade waits for the review).
pub(crate) fn upgrade_after_sale(
    tx: &mut dyn Tx,
    pa: &ProgramAccrual,
    now: Timestamp,
    actor: &Actor,
) -> Result<Option<SaleMembership>> {
    let Some(member) = &pa.member else {
        return Ok(None);
    };
    let program = &pa.program;
    let mut out = SaleMembership {
        tier: member.tier.clone(),
        tier_change: None,
        benefits: Vec::new(),
    };
    if program.tiers().is_empty() {
        out.benefits = available_benefits(tx, program, member.customer_id, now)?;
        return Ok(Some(out));
    }
    let value = qualifying_value(tx, program, member.customer_id, now)?;
    let Some(up) = program.upgrade(member.tier.as_deref(), value) else {
        out.benefits = available_benefits(tx, program, member.customer_id, now)?;
        return Ok(Some(out));
    };
    let mut next = member.clone();
    next.tier = Some(up.key.clone());
    next.tier_since = Some(now);
    next.tier_review_at = program.qualification().map(|q| now + days(q.days));
    tx.put_loyalty_member(&next)?;
    crate::benefits::grant_tier_benefits(tx, program, member.customer_id, &up.key, now, actor)?;
    tx.insert_member_event(&MemberEvent {
        seq: 0,
        customer_id: member.customer_id,
        kind: MemberEventKind::TierUp,
        at: now,
        branch_id: None,
        employee_id: None,
        actor: actor.who.clone(),
        detail: json!({ "from": member.tier, "to": up.key, "value": value }).to_string(),
    })?;
    out.tier_change = Some(TierChange {
        from: member.tier.clone(),
        to: Some(up.key.clone()),
    });
    out.tier = Some(up.key.clone());
    out.benefits = available_benefits(tx, program, member.customer_id, now)?;
    Ok(Some(out))
}

/// The customer's grants available at `now`, for the till's answer; none read when the program
/// has no catalogue.
fn available_benefits(
    tx: &mut dyn Tx,
    program: &Program,
    customer: CustomerId,
    now: Timestamp,
) -> Result<Vec<kesher_loyalty::benefits::Grant>> {
    if program.benefits().is_empty() {
        return Ok(Vec::new());
    }
    Ok(tx
        .benefit_grants(customer)?
        .into_iter()
        .filter(|g| g.is_available(now))
        .collect())
}

/// A member's standing as a retried sale is answered: the tier now, no change.
pub(crate) fn membership_now(
    app: &App,
    tx: &mut dyn Tx,
    customer: Option<CustomerId>,
) -> Result<Option<SaleMembership>> {
    let Some(customer) = customer else {
        return Ok(None);
    };
    let Some(program) = program_in(tx, &app.program_cache)? else {
        return Ok(None);
    };
    let Some(m) = tx
        .loyalty_member(customer)?
        .filter(|m| m.status == MemberStatus::Active)
    else {
        return Ok(None);
    };
    Ok(Some(SaleMembership {
        tier: m.tier,
        tier_change: None,
        benefits: available_benefits(tx, &program, customer, app.now())?,
    }))
}

pub mod kpis;
#[cfg(test)]
mod tests;
