//! The benefits' workflows, each one unit of work under the customer's lock: grant a benefit
//! of the program's catalogue (staff), redeem points for one (the ledger's redemption and the
//! grant together, idempotent on the key), honour a grant at the till (once), expire the grants
//! whose time has passed, grant a tier's benefits on entering it (once per entry), and draw a
//! surprise (members from a segment or at random, under a budget, never twice to the same member
//! within the no-repeat period, reproducible from its seed). The rules are
//! `kesher_loyalty::benefits`'s (docs/loyalty.md, "Benefits").

use crate::App;
use crate::loyalty::program_in;
use crate::points::loyalty_error;
use crate::segments::SegmentError;
use jiff::{SignedDuration, Timestamp};
use kesher_core::{BenefitGrantId, BranchId, CustomerId, Params, SurpriseDrawId};
use kesher_loyalty::benefits::{BenefitRule, BenefitValue, BudgetUnit, Grant, GrantSource, GrantState, Honour};
use kesher_loyalty::program::{MAX_WINDOW_DAYS, Program};
use kesher_loyalty::{LedgerEntry, MemberStatus};
use kesher_store::{Actor, Lock, NewLedgerEntry, Recorded, Result, StoreError, SurpriseDraw, Tx};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Grants expired per page by [`App::expire_benefits`].
const EXPIRY_PAGE: usize = 500;
/// The most members one surprise may draw.
pub const MAX_SURPRISE: usize = 100_000;

/// A grant by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    pub benefit: String,
    /// A retried grant with the same key returns the first one.
    pub idempotency_key: Option<String>,
}

/// A redemption of points for a benefit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemBenefit {
    pub benefit: String,
    /// Required: the same key returns the first result.
    pub idempotency_key: Option<String>,
    /// Where the points are spent.
    pub branch: Option<BranchId>,
}

/// What a redemption wrote: the grant and the ledger entry that paid for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub grant: Grant,
    pub entry: LedgerEntry,
}

/// Honouring a grant at the till.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HonourRequest {
    /// Required: honouring again with the same key returns the grant.
    pub idempotency_key: Option<String>,
    pub branch: Option<BranchId>,
}

/// Where a surprise's members come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurprisePool {
    /// A saved segment's name or an expression: its active members.
    Segment(String),
    /// At most this many active members, at random.
    Random(usize),
}

/// A surprise to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurpriseRequest {
    pub benefit: String,
    pub pool: SurprisePool,
    /// A decimal amount in the program's currency (a benefit with a money value) or a number of
    /// points (a benefit valued in points).
    pub budget: String,
    pub seed: u64,
    /// No member gets the same surprise twice within this many days.
    pub no_repeat_days: i64,
}

/// A drawn surprise: the stored draw and the grants it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surprise {
    pub draw: SurpriseDraw,
    pub grants: Vec<Grant>,
}

/// What an expiry run of grants did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct BenefitExpiryReport {
    pub expired: u64,
}

fn no_program() -> StoreError {
    StoreError::invalid_coded(
        "loyalty.program.missing",
        "program",
        Params::new(),
        "no loyalty program is set: set one first",
    )
}

fn unknown_benefit(key: &str) -> StoreError {
    StoreError::invalid_coded(
        "loyalty.benefit.unknown",
        "benefit",
        kesher_core::params!(benefit = key),
        format!("the program's catalogue has no benefit {key:?}"),
    )
}

fn key_reused(existing: &Grant) -> StoreError {
    StoreError::conflict_coded(
        "loyalty.benefit.key_reused",
        "idempotency_key",
        kesher_core::params!(benefit = existing.benefit.as_str(), source = existing.source.as_str()),
        format!(
            "the key was used for another request ({} of {})",
            existing.source.as_str(),
            existing.benefit
        ),
    )
}

fn key_required(key: Option<&str>) -> Result<String> {
    match key {
        Some(k) => kesher_loyalty::parse_idempotency_key(k).map_err(loyalty_error),
        None => Err(StoreError::invalid_coded(
            "idempotency_key.missing",
            "idempotency_key",
            Params::new(),
            "required: send the Idempotency-Key header or an idempotency_key field",
        )),
    }
}

fn new_grant(
    rule: &BenefitRule,
    customer: CustomerId,
    source: GrantSource,
    actor: &Actor,
    key: Option<String>,
) -> Grant {
    Grant {
        id: BenefitGrantId(crate::ids::next_v7()),
        customer_id: customer,
        benefit: rule.key.clone(),
        state: GrantState::Available,
        granted_at: actor.at,
        available_until: rule.available_until(actor.at),
        granted_by: actor.who.clone(),
        source,
        used_at: None,
        honoured_by: None,
        honoured_branch: None,
        honour_key: None,
        points_seq: None,
        draw_id: None,
        idempotency_key: key,
    }
}

/// A grant as written in the audit log.
fn grant_json(g: &Grant) -> serde_json::Value {
    json!({
        "grant": g.id.to_string(), "benefit": g.benefit, "state": g.state.as_str(), "source": g.source.as_str(),
        "available_until": g.available_until.to_string(), "points_seq": g.points_seq,
        "honoured_by": g.honoured_by, "honoured_branch": g.honoured_branch.map(|b| b.to_string()),
        "draw": g.draw_id.map(|d| d.to_string()),
    })
}

fn audit_grant(tx: &mut dyn Tx, actor: &Actor, action: &str, before: Option<&Grant>, after: &Grant) -> Result<()> {
    tx.append_audit(
        actor,
        action,
        "customer",
        &after.customer_id.to_string(),
        before.map(grant_json).as_ref(),
        Some(&grant_json(after)),
    )
}

fn program_of(app: &App, tx: &mut dyn Tx) -> Result<Arc<Program>> {
    program_in(tx, &app.program_cache)?.ok_or_else(no_program)
}

/// Grant the benefits of `tier` that the member entered at `since` (once per entry: the key
/// `tier:TIER:SINCE:BENEFIT`), inside the caller's unit.
pub(crate) fn grant_tier_benefits(
    tx: &mut dyn Tx,
    program: &Program,
    customer: CustomerId,
    tier: &str,
    since: Timestamp,
    actor: &Actor,
) -> Result<u64> {
    let mut granted = 0;
    for rule in program.tier_benefits(tier) {
        let key = format!("tier:{tier}:{}:{}", since.as_microsecond(), rule.key);
        if tx.benefit_grant_by_key(customer, &key)?.is_some() {
            continue;
        }
        let g = new_grant(rule, customer, GrantSource::Tier, actor, Some(key));
        tx.insert_benefit_grant(&g)?;
        audit_grant(tx, actor, "benefit.grant", None, &g)?;
        granted += 1;
    }
    Ok(granted)
}

/// The ledger's key of the credit a points benefit's grant pays when honoured.
pub fn points_benefit_key(grant: BenefitGrantId) -> String {
    format!("benefit-grant:{grant}")
}

/// Honouring a benefit valued in points credits them (an adjustment with the reason
/// `benefit:KEY` under the key [`points_benefit_key`], in the honouring's unit). A benefit the
/// catalogue no longer has is honoured without a credit: its value is no longer known.
fn credit_points_benefit(
    app: &App,
    tx: &mut dyn Tx,
    grant: &Grant,
    branch: Option<BranchId>,
    actor: &Actor,
) -> Result<Option<LedgerEntry>> {
    let Some(program) = program_in(tx, &app.program_cache)? else {
        return Ok(None);
    };
    let Some(BenefitValue::Points { points }) = program.benefit(&grant.benefit).and_then(|r| r.value.clone()) else {
        return Ok(None);
    };
    let customer = grant.customer_id;
    let key = points_benefit_key(grant.id);
    if tx.points_entry_by_key(customer, &key)?.is_some() {
        return Ok(None);
    }
    let reason = format!("benefit:{}", grant.benefit);
    let balance = tx.points_balance(customer)?;
    let posting = kesher_loyalty::adjust(balance, points, Some(&reason)).map_err(loyalty_error)?;
    let entry = tx.insert_points_entry(&NewLedgerEntry {
        customer,
        posting,
        reason: Some(&reason),
        idempotency_key: Some(&key),
        transaction: None,
        branch,
        actor,
        breakdown: Vec::new(),
        available_at: None,
    })?;
    let (action, before, after) = crate::points::points_audit(&entry);
    tx.append_audit(
        actor,
        &action,
        "customer",
        &customer.to_string(),
        Some(&before),
        Some(&after),
    )?;
    Ok(Some(entry))
}

impl App {
    /// Grant a benefit of the catalogue to a customer (staff); idempotent on the key when given.
    pub fn grant_benefit(&self, customer: CustomerId, req: &GrantRequest, actor: &Actor) -> Result<Recorded<Grant>> {
        let key = match req.idempotency_key.as_deref() {
            Some(k) => Some(kesher_loyalty::parse_idempotency_key(k).map_err(loyalty_error)?),
            None => None,
        };
        let mut tx = self.store.begin(Lock::Customers(&[customer]))?;
        let program = program_of(self, tx.as_mut())?;
        let rule = program
            .benefit(&req.benefit)
            .ok_or_else(|| unknown_benefit(&req.benefit))?;
        if let Some(k) = &key
            && let Some(existing) = tx.benefit_grant_by_key(customer, k)?
        {
            if existing.source == GrantSource::Manual && existing.benefit == req.benefit {
                return Ok(Recorded {
                    value: existing,
                    created: false,
                });
            }
            return Err(key_reused(&existing));
        }
        let g = new_grant(rule, customer, GrantSource::Manual, actor, key);
        tx.insert_benefit_grant(&g)?;
        audit_grant(tx.as_mut(), actor, "benefit.grant", None, &g)?;
        let g = tx.benefit_grant(g.id)?.unwrap_or(g);
        tx.commit()?;
        Ok(Recorded {
            value: g,
            created: true,
        })
    }

    /// Redeem points for a benefit: the redemption entry (never below zero) and the grant in one
    /// unit, under the key (required). The same key returns the first result; the key used for
    /// anything else is a conflict.
    pub fn redeem_benefit(
        &self,
        customer: CustomerId,
        req: &RedeemBenefit,
        actor: &Actor,
    ) -> Result<Recorded<Redeemed>> {
        let key = key_required(req.idempotency_key.as_deref())?;
        let mut tx = self.store.begin(Lock::Customers(&[customer]))?;
        let program = program_of(self, tx.as_mut())?;
        let rule = program
            .benefit(&req.benefit)
            .ok_or_else(|| unknown_benefit(&req.benefit))?;
        let existing_entry = tx.points_entry_by_key(customer, &key)?;
        if let Some(existing) = tx.benefit_grant_by_key(customer, &key)? {
            return match (existing.source, existing_entry) {
                (GrantSource::Redeemed, Some(entry)) if existing.benefit == req.benefit => Ok(Recorded {
                    value: Redeemed { grant: existing, entry },
                    created: false,
                }),
                _ => Err(key_reused(&existing)),
            };
        }
        if let Some(entry) = existing_entry {
            return Err(StoreError::conflict_coded(
                "idempotency_key.reused",
                "idempotency_key",
                kesher_core::params!(kind = entry.kind.as_str(), points = entry.points),
                format!(
                    "the key was used for another request ({} of {} points)",
                    entry.kind.as_str(),
                    entry.points
                ),
            ));
        }
        let cost = rule.cost_points.ok_or_else(|| {
            StoreError::invalid_coded(
                "loyalty.benefit.not_redeemable",
                "benefit",
                kesher_core::params!(benefit = rule.key.as_str()),
                format!("{:?} cannot be redeemed for points", rule.key),
            )
        })?;
        let balance = tx.points_balance(customer)?;
        // Pending points (inside the program's return window) are not spendable yet.
        let pending = tx.points_pending(customer, self.now())?;
        let (posting, _) =
            kesher_loyalty::spend_or_adjust_pending(kesher_loyalty::EntryKind::Redeem, balance, pending, cost, None)
                .map_err(loyalty_error)?;
        let reason = format!("benefit:{}", rule.key);
        let entry = tx.insert_points_entry(&NewLedgerEntry {
            customer,
            posting,
            reason: Some(&reason),
            idempotency_key: Some(&key),
            transaction: None,
            branch: req.branch,
            actor,
            breakdown: Vec::new(),
            available_at: None,
        })?;
        let (action, before, after) = crate::points::points_audit(&entry);
        tx.append_audit(
            actor,
            &action,
            "customer",
            &customer.to_string(),
            Some(&before),
            Some(&after),
        )?;
        let grant = Grant {
            points_seq: Some(entry.seq),
            ..new_grant(rule, customer, GrantSource::Redeemed, actor, Some(key))
        };
        tx.insert_benefit_grant(&grant)?;
        audit_grant(tx.as_mut(), actor, "benefit.redeem", None, &grant)?;
        let grant = tx.benefit_grant(grant.id)?.unwrap_or(grant);
        tx.commit()?;
        Ok(Recorded {
            value: Redeemed { grant, entry },
            created: true,
        })
    }

    /// A grant, by id (`NotFound` when there is none).
    pub fn benefit_grant(&self, id: BenefitGrantId) -> Result<Grant> {
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.benefit_grant(id)?
            .ok_or_else(|| StoreError::not_found("benefit grant", id))
    }

    /// Honour a grant at the till: marked used, by whom and where. Honouring it again with the
    /// same key returns it (`created` false); otherwise a used or expired grant is a conflict
    /// naming its state.
    pub fn honour_benefit(&self, id: BenefitGrantId, req: &HonourRequest, actor: &Actor) -> Result<Recorded<Grant>> {
        let key = key_required(req.idempotency_key.as_deref())?;
        let customer = self.benefit_grant(id)?.customer_id;
        let mut tx = self.store.begin(Lock::Customers(&[customer]))?;
        let grant = tx
            .benefit_grant(id)?
            .ok_or_else(|| StoreError::not_found("benefit grant", id))?;
        match kesher_loyalty::benefits::honour(&grant, actor.at, &actor.who, req.branch, &key) {
            Honour::Use(used) => {
                tx.update_benefit_grant(&used)?;
                audit_grant(tx.as_mut(), actor, "benefit.honour", Some(&grant), &used)?;
                credit_points_benefit(self, tx.as_mut(), &grant, req.branch, actor)?;
                // As stored (instants to the microsecond): what a retry answers with.
                let used = tx.benefit_grant(id)?.unwrap_or(*used);
                tx.commit()?;
                Ok(Recorded {
                    value: used,
                    created: true,
                })
            }
            Honour::Already => Ok(Recorded {
                value: grant,
                created: false,
            }),
            Honour::Refused(state) => Err(StoreError::conflict_coded(
                "loyalty.benefit.not_available",
                "state",
                kesher_core::params!(state = state.as_str()),
                format!("the benefit is {} and cannot be honoured", state.as_str()),
            )),
        }
    }

    /// A customer's grants, oldest first, each with its state as of now (an available grant
    /// whose time has passed reads as expired before the job writes it).
    pub fn customer_benefits(&self, customer: CustomerId) -> Result<Vec<Grant>> {
        let now = self.now();
        let mut tx = self.store.begin(Lock::Writes)?;
        if tx.customer(customer)?.is_none() {
            return Err(StoreError::not_found("customer", customer));
        }
        Ok(tx
            .benefit_grants(customer)?
            .into_iter()
            .map(|g| Grant {
                state: g.state_at(now),
                ..g
            })
            .collect())
    }

    /// Write as expired every available grant whose time has passed, one customer's unit each.
    pub fn expire_benefits(&self, actor: &Actor) -> Result<BenefitExpiryReport> {
        let now = self.now();
        let mut report = BenefitExpiryReport::default();
        loop {
            let due = {
                let mut tx = self.store.begin(Lock::Writes)?;
                tx.benefit_grants_due(now, EXPIRY_PAGE)?
            };
            if due.is_empty() {
                return Ok(report);
            }
            let mut progressed = false;
            for g in due {
                let mut tx = self.store.begin(Lock::Customers(&[g.customer_id]))?;
                // Read again under the lock: it may have been honoured meanwhile.
                let Some(expired) = tx.benefit_grant(g.id)?.and_then(|cur| cur.expired(now)) else {
                    continue;
                };
                tx.update_benefit_grant(&expired)?;
                audit_grant(tx.as_mut(), actor, "benefit.expire", Some(&g), &expired)?;
                tx.commit()?;
                report.expired += 1;
                progressed = true;
            }
            if !progressed {
                return Ok(report);
            }
        }
    }

    /// The active members' ids, every one.
    fn active_members(&self) -> Result<Vec<CustomerId>> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .loyalty_members(Some(MemberStatus::Active), None, after, 1000)?;
            let Some(last) = page.last() else {
                return Ok(out);
            };
            after = Some(last.customer_id);
            out.extend(page.iter().map(|m| m.customer_id));
        }
    }

    /// Draw a surprise: the candidates (a segment's active members, or every active member),
    /// less those who had the same surprise within the no-repeat period, shuffled by the seed,
    /// as many as the budget pays for (and at most the random size); the draw stored and each
    /// member granted the benefit, in one unit.
    pub fn draw_surprise(&self, req: &SurpriseRequest, actor: &Actor) -> std::result::Result<Surprise, SegmentError> {
        if !(0..=MAX_WINDOW_DAYS).contains(&req.no_repeat_days) {
            return Err(StoreError::invalid_coded(
                "loyalty.surprise.no_repeat_days",
                "no_repeat_days",
                kesher_core::params!(max = MAX_WINDOW_DAYS),
                format!("must be from 0 to {MAX_WINDOW_DAYS} days"),
            )
            .into());
        }
        let program = {
            let mut tx = self.store.begin(Lock::Writes)?;
            program_of(self, tx.as_mut())?
        };
        let rule = program
            .benefit(&req.benefit)
            .ok_or_else(|| unknown_benefit(&req.benefit))?;
        let bad_budget = |reason: String| {
            StoreError::invalid_coded(
                "loyalty.surprise.budget",
                "budget",
                kesher_core::params!(reason = reason.as_str()),
                reason.clone(),
            )
        };
        let (budget, unit, unit_name) = match rule.budget_unit() {
            Some(BudgetUnit::Money(minor)) => {
                let b = program
                    .currency()
                    .parse_amount(req.budget.trim(), "budget")
                    .map_err(|e| bad_budget(e.to_string()))?;
                (b, minor, "minor")
            }
            Some(BudgetUnit::Points(points)) => {
                let b: i64 = req
                    .budget
                    .trim()
                    .parse()
                    .map_err(|_| bad_budget("a whole number of points".to_string()))?;
                (b, points, "points")
            }
            None => {
                return Err(StoreError::invalid_coded(
                    "loyalty.surprise.no_value",
                    "benefit",
                    kesher_core::params!(benefit = rule.key.as_str()),
                    format!("{:?} has no money or points value to count a budget in", rule.key),
                )
                .into());
            }
        };
        if budget <= 0 {
            return Err(bad_budget("must be more than 0".to_string()).into());
        }
        let mut candidates = self.active_members()?;
        let (limit, pool_json) = match &req.pool {
            SurprisePool::Random(n) => {
                if !(1..=MAX_SURPRISE).contains(n) {
                    return Err(StoreError::invalid_coded(
                        "loyalty.surprise.random",
                        "random",
                        kesher_core::params!(max = MAX_SURPRISE as i64),
                        format!("from 1 to {MAX_SURPRISE} members"),
                    )
                    .into());
                }
                (Some(*n), json!({ "random": n }))
            }
            SurprisePool::Segment(s) => {
                let segment = self.resolve_segment(s)?;
                let members = self.segment_members(&segment)?;
                candidates.retain(|c| members.contains(c));
                (Some(MAX_SURPRISE), json!({ "segment": s }))
            }
        };
        let since = actor
            .at
            .checked_sub(SignedDuration::from_hours(24 * req.no_repeat_days))
            .unwrap_or(Timestamp::MIN);
        let excluded: BTreeSet<CustomerId> = {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.surprise_recipients_since(&rule.key, since)?.into_iter().collect()
        };
        let drawn = kesher_loyalty::benefits::draw(req.seed, &candidates, &excluded, limit, budget, unit);
        let mut tx = self.store.begin(Lock::Customers(&drawn))?;
        // Read again under the locks: another draw may have reached some of them meanwhile.
        let now_excluded: BTreeSet<CustomerId> = tx.surprise_recipients_since(&rule.key, since)?.into_iter().collect();
        let members: Vec<CustomerId> = drawn.into_iter().filter(|c| !now_excluded.contains(c)).collect();
        let mut parameters = json!({
            "budget": req.budget.trim(), "budget_value": budget, "unit": unit, "unit_kind": unit_name,
            "no_repeat_days": req.no_repeat_days, "candidates": candidates.len(), "excluded": excluded.len(),
        });
        if let (Some(p), Some(o)) = (parameters.as_object_mut(), pool_json.as_object()) {
            p.extend(o.clone());
        }
        let draw = SurpriseDraw {
            id: SurpriseDrawId(crate::ids::next_v7()),
            benefit: rule.key.clone(),
            seed: req.seed,
            parameters: parameters.to_string(),
            actor: actor.who.clone(),
            at: actor.at,
            members,
        };
        tx.insert_surprise_draw(&draw)?;
        let mut grants = Vec::with_capacity(draw.members.len());
        for customer in &draw.members {
            let g = Grant {
                draw_id: Some(draw.id),
                ..new_grant(
                    rule,
                    *customer,
                    GrantSource::Surprise,
                    actor,
                    Some(format!("surprise:{}", draw.id)),
                )
            };
            tx.insert_benefit_grant(&g)?;
            audit_grant(tx.as_mut(), actor, "benefit.surprise", None, &g)?;
            grants.push(g);
        }
        tx.append_audit(
            actor,
            "benefit.surprise_draw",
            "surprise_draw",
            &draw.id.to_string(),
            None,
            Some(&json!({ "benefit": draw.benefit, "seed": draw.seed.to_string(), "members": draw.members.len() })),
        )?;
        tx.commit()?;
        Ok(Surprise { draw, grants })
    }

    /// A stored surprise draw (`NotFound` when there is none).
    pub fn surprise_draw(&self, id: SurpriseDrawId) -> Result<SurpriseDraw> {
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.surprise_draw(id)?
            .ok_or_else(|| StoreError::not_found("surprise draw", id))
    }
}

#[cfg(test)]
mod tests;
