//! The customer's rights: access (export everything held about one customer) and erasure, and
//! the retention rule that anonymises customers inactive for longer than N years.

use crate::App;
use jiff::{Timestamp, ToSpan};
use kesher_core::CustomerId;
use kesher_store::{Actor, ErasureReport, Lock, Result, StoreError, all_pages};
use serde_json::{Value, json};

/// The setting that holds the retention period in years (absent: keep forever).
pub const RETENTION_KEY: &str = "privacy.retention_years";

/// What a retention run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub years: Option<u32>,
    pub cutoff: Option<Timestamp>,
    pub candidates: u64,
    pub erased: u64,
}

impl App {
    /// Everything held about one customer, as one JSON document (the right of access). The
    /// export is audited.
    pub fn export_customer(&self, id: CustomerId, actor: &Actor) -> Result<Value> {
        let s = &self.store;
        let c = s
            .get_customer(id)?
            .ok_or_else(|| StoreError::not_found("customer", id))?;
        let transactions: Vec<Value> = all_pages(|offset| s.list_transactions(Some(id), 500, offset))?
            .into_iter()
            .map(|t| {
                json!({
                    "id": t.id.to_string(), "external_id": t.external_id, "branch_id": t.branch_id.to_string(),
                    "occurred_at": t.occurred_at.to_string(), "currency": t.currency.as_str(),
                    "total_minor": t.total(),
                    "refund_of": t.refund_of.map(|r| r.to_string()),
                    "lines": t.lines.iter().map(|l| json!({
                        "sku": l.sku, "quantity": l.quantity, "unit_price_minor": l.unit_price,
                        "discount_minor": l.discount,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let interactions: Vec<Value> = all_pages(|offset| s.list_interactions(Some(id), 500, offset))?
            .into_iter()
            .map(|i| {
                json!({
                    "id": i.id.to_string(), "channel": i.channel.as_str(), "kind": i.kind.as_str(),
                    "occurred_at": i.occurred_at.to_string(), "text": i.text, "satisfaction": i.satisfaction,
                    "status": i.status.map(|x| x.as_str()),
                })
            })
            .collect();
        let consent_history: Vec<Value> = s
            .consent_history(id)?
            .into_iter()
            .map(|e| {
                json!({"channel": e.consent.channel.as_str(), "state": e.consent.state.as_str(),
                       "at": e.consent.at.to_string(), "source": e.consent.source})
            })
            .collect();
        let score = s.customer_score(id)?.map(|sc| {
            json!({"as_of": sc.as_of.to_string(), "stage": sc.stage, "rfm": sc.rfm, "segment": sc.segment,
                   "tier": sc.tier, "p_alive": sc.p_alive, "clv": sc.clv})
        });
        let audit: Vec<Value> = s
            .audit_for_entity(&id.to_string())?
            .into_iter()
            .map(|e| {
                json!({"at": e.at.to_string(), "actor": e.actor, "origin": e.origin, "action": e.action,
                       "before": e.before, "after": e.after})
            })
            .collect();
        let doc = json!({
            "exported_at": actor.at.to_string(),
            "customer": customer_json(&c),
            "erased_at": s.erased_at(id)?.map(|t| t.to_string()),
            "consent_history": consent_history,
            "transactions": transactions,
            "interactions": interactions,
            "analysis": score,
            "changes": audit,
        });
        s.append_audit(
            actor,
            "customer.export",
            "customer",
            &id.to_string(),
            Some(&json!({"transactions": transactions.len(), "interactions": interactions.len()})),
        )?;
        Ok(doc)
    }

    /// Erase a customer's personal data (the right to be forgotten): identifiers and free text
    /// removed, the anonymised record and its sales kept (the business's totals do not change),
    /// every consent withdrawn, the audit entries about them (or about a record merged into them)
    /// redacted; one unit of work, audited. Erasing again changes nothing.
    pub fn erase_customer(&self, id: CustomerId, actor: &Actor) -> Result<ErasureReport> {
        let mut tx = self.store.begin(Lock::CustomerRecords(&[id]))?;
        if tx.is_erased(id)? {
            return Ok(ErasureReport::default());
        }
        let mut report = tx.anonymise_customer(id, actor.at)?;
        let mut about = vec![id];
        about.extend(tx.merged_into_customer(id)?);
        for who in about {
            report.audit_entries_redacted += tx.redact_audit(&who.to_string())?;
        }
        tx.record_erasure(id, actor.at)?;
        tx.append_audit(
            actor,
            "customer.erase",
            "customer",
            &id.to_string(),
            None,
            Some(&kesher_store::accounts::erasure_audit_json(&report)),
        )?;
        tx.commit()?;
        Ok(report)
    }

    pub fn retention_years(&self) -> Result<Option<u32>> {
        match self.store.get_setting(RETENTION_KEY)? {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Backend(format!("stored {RETENTION_KEY} {v:?} is not a number"))),
        }
    }

    pub fn set_retention_years(&self, years: Option<u32>, actor: &Actor) -> Result<()> {
        if years == Some(0) {
            return Err(StoreError::invalid_coded(
                "privacy.retention.zero",
                "years",
                kesher_core::Params::new(),
                "must be at least 1 (or empty to keep customers forever)",
            ));
        }
        let v = years.map(|y| y.to_string()).unwrap_or_default();
        self.put_setting(RETENTION_KEY, &v, actor)
    }

    /// Anonymise every customer inactive for longer than the retention period (`years`, or the
    /// stored setting). With `dry_run`, only count them.
    pub fn apply_retention(&self, years: Option<u32>, dry_run: bool, actor: &Actor) -> Result<RetentionReport> {
        let years = match years {
            Some(y) => Some(y),
            None => self.retention_years()?,
        };
        let Some(y) = years.filter(|y| *y > 0) else {
            return Ok(RetentionReport::default());
        };
        let now = actor.at;
        let cutoff = now
            .to_zoned(jiff::tz::TimeZone::UTC)
            .checked_sub(i64::from(y).years())
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .timestamp();
        let ids = self.store.inactive_customers(cutoff)?;
        let mut report = RetentionReport {
            years: Some(y),
            cutoff: Some(cutoff),
            candidates: ids.len() as u64,
            erased: 0,
        };
        if !dry_run {
            let actor = Actor {
                who: actor.who.clone(),
                at: actor.at,
                origin: Some(format!("retention {y} years")),
            };
            for id in ids {
                self.erase_customer(id, &actor)?;
                report.erased += 1;
            }
        }
        Ok(report)
    }
}

/// A customer as exported: every field held.
pub fn customer_json(c: &kesher_core::Customer) -> Value {
    let d = &c.demographics;
    json!({
        "id": c.id.to_string(), "member_no": c.member_no, "kind": c.kind.as_str(),
        "parent_id": c.parent_id.map(|p| p.to_string()), "name": c.name,
        "phone": c.phone.as_ref().map(|p| p.as_str().to_string()),
        "email": c.email.as_ref().map(|e| e.as_str().to_string()), "card": c.card, "language": c.language,
        "birth_date": d.birth_date.map(|b| b.to_string()), "gender": d.gender.map(|g| g.as_str()),
        "city": d.city, "region": d.region, "household_size": d.household_size, "income_band": d.income_band,
        "attributes": c.attributes, "created_at": c.created_at.to_string(),
        "source_branch": c.source_branch.map(|b| b.to_string()),
        "source_employee": c.source_employee.map(|e| e.to_string()),
        "consents": c.consents.iter().map(|k| json!({"channel": k.channel.as_str(), "state": k.state.as_str(),
            "at": k.at.to_string(), "source": k.source})).collect::<Vec<_>>(),
    })
}
