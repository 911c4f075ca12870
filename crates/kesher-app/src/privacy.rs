//! The customer's rights: access (export everything held about one customer) and erasure, and
//! the retention rule that anonymises customers inactive for longer than N years.

use crate::App;
use jiff::Timestamp;
use kesher_core::CustomerId;
use kesher_store::{Actor, ErasureReport, Lock, Result, StoreError, all_pages};
use serde_json::{Value, json};

/// The setting that holds the retention period in years (absent: keep forever).
pub const RETENTION_KEY: &str = "privacy.retention_years";

/// Where each table of `kesher_store::bulk::TABLES` that holds something about a customer
/// (`customer_id`, or a merge's `kept_id`) appears in the customer's export: (table, top-level
/// key). A test keeps this list complete as tables are added.
pub const EXPORTED_TABLES: &[(&str, &str)] = &[
    ("customers", "customer"),
    ("consents", "customer"),
    ("consent_history", "consent_history"),
    ("customer_aliases", "aliases"),
    ("merges", "merged_in"),
    ("transactions", "transactions"),
    ("interactions", "interactions"),
    ("customer_scores", "analysis"),
    ("customer_stages", "stage_history"),
    ("erasures", "erased_at"),
    ("points_ledger", "points"),
    ("points_balances", "points"),
    ("loyalty_members", "loyalty"),
    ("loyalty_member_events", "loyalty"),
    ("loyalty_benefit_grants", "benefits"),
    ("segment_members", "segments"),
    ("segment_events", "segments"),
    ("campaign_messages", "campaign_messages"),
    ("campaign_clicks", "campaign_clicks"),
];

/// Customer-keyed tables left out of the export, and why (none so far). `transaction_lines`
/// (keyed by sale) go out within `transactions`, the audit entries about the customer as
/// `changes`.
pub const NOT_EXPORTED_TABLES: &[(&str, &str)] = &[];

/// The longest retention period a business may set, in years.
pub const MAX_RETENTION_YEARS: u32 = 100;

fn check_years(y: u32) -> Result<()> {
    if (1..=MAX_RETENTION_YEARS).contains(&y) {
        Ok(())
    } else {
        Err(StoreError::invalid_coded(
            "privacy.retention.out_of_range",
            "years",
            kesher_core::params!(max = MAX_RETENTION_YEARS),
            format!("must be 1 to {MAX_RETENTION_YEARS} (or empty to keep customers forever)"),
        ))
    }
}

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
        let records = s.customer_records(id)?;
        let ledger: Vec<Value> = all_pages(|offset| s.points_ledger(id, 500, offset))?
            .into_iter()
            .map(|e| {
                json!({"seq": e.seq, "kind": e.kind.as_str(), "points": e.points, "balance_after": e.balance_after,
                       "reason": e.reason, "idempotency_key": e.idempotency_key,
                       "transaction_id": e.transaction_id.map(|t| t.to_string()),
                       "branch_id": e.branch_id.map(|b| b.to_string()), "actor": e.actor, "origin": e.origin,
                       "at": e.at.to_string(),
                       "breakdown": e.breakdown.iter().map(|p| json!({"rule": p.rule, "points": p.points}))
                           .collect::<Vec<_>>()})
            })
            .collect();
        let benefits: Vec<Value> = self
            .customer_benefits(id)?
            .iter()
            .map(|g| {
                json!({"id": g.id.to_string(), "benefit": g.benefit, "state": g.state.as_str(),
                       "source": g.source.as_str(), "granted_at": g.granted_at.to_string(),
                       "available_until": g.available_until.to_string(), "granted_by": g.granted_by,
                       "used_at": g.used_at.map(|t| t.to_string()), "honoured_by": g.honoured_by,
                       "honoured_branch": g.honoured_branch.map(|b| b.to_string()),
                       "points_seq": g.points_seq, "draw_id": g.draw_id.map(|d| d.to_string()),
                       "idempotency_key": g.idempotency_key})
            })
            .collect();
        let campaign_messages: Vec<Value> = {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.customer_campaign_messages(id)?
        }
        .iter()
        .map(|m| {
            json!({"campaign_id": m.campaign_id.to_string(), "occurrence": m.occurrence, "arm": m.arm, "channel": m.channel,
                   "state": m.state.as_str(), "suppression": m.suppression, "language": m.language,
                   "subject": m.subject, "body": m.body, "message_id": m.message_id, "attempts": m.attempts,
                   "sent_at": m.sent_at.map(|t| t.to_string()), "created_at": m.created_at.to_string()})
        })
        .collect();
        let campaign_clicks: Vec<Value> = {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.customer_campaign_clicks(id)?
        }
        .iter()
        .map(|k| {
            json!({"campaign_id": k.campaign_id.to_string(), "occurrence": k.occurrence, "link": k.link,
                   "clicks": k.clicks, "first_at": k.first_at.to_string(), "last_at": k.last_at.to_string()})
        })
        .collect();
        let doc = json!({
            "exported_at": actor.at.to_string(),
            "customer": customer_json(&c),
            "erased_at": s.erased_at(id)?.map(|t| t.to_string()),
            "consent_history": consent_history,
            "aliases": records.aliases.iter().map(|(kind, value)| json!({"kind": kind, "value": value})).collect::<Vec<_>>(),
            "merged_in": records.merged_in.iter()
                .map(|(dropped, at)| json!({"customer_id": dropped.to_string(), "at": at.to_string()}))
                .collect::<Vec<_>>(),
            "transactions": transactions,
            "interactions": interactions,
            "points": {"balance": s.points_balance(id)?, "ledger": ledger},
            "analysis": score,
            "loyalty": loyalty_json(records.membership.as_ref(), &records.member_events),
            "benefits": benefits,
            "segments": segments_json(&records.segments, &records.segment_events),
            "campaign_messages": campaign_messages,
            "campaign_clicks": campaign_clicks,
            "stage_history": records.stages.iter().map(|(month, stage)| json!({"month": month, "stage": stage})).collect::<Vec<_>>(),
            "changes": audit,
        });
        s.append_audit(
            actor,
            "customer.export",
            "customer",
            &id.to_string(),
            Some(
                &json!({"transactions": transactions.len(), "interactions": interactions.len(),
                         "points_entries": ledger.len()}),
            ),
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
        if let Some(y) = years {
            check_years(y)?;
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
        check_years(y)?;
        let now = actor.at;
        let cutoff = jiff::Span::new()
            .try_years(i64::from(y))
            .and_then(|span| now.to_zoned(jiff::tz::TimeZone::UTC).checked_sub(span))
            .map_err(|e| {
                StoreError::invalid_coded(
                    "privacy.retention.out_of_range",
                    "years",
                    kesher_core::params!(max = MAX_RETENTION_YEARS),
                    e.to_string(),
                )
            })?
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

/// A loyalty membership and its history as exported (`null` for a customer who never joined).
fn loyalty_json(m: Option<&kesher_loyalty::Member>, events: &[kesher_loyalty::MemberEvent]) -> Value {
    if m.is_none() && events.is_empty() {
        return Value::Null;
    }
    let id = |i: Option<uuid::Uuid>| i.map(|i| i.to_string());
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    json!({
        "member": m.map(|m| json!({
            "status": m.status.as_str(), "tier": m.tier, "tier_since": time(m.tier_since),
            "tier_review_at": time(m.tier_review_at), "enrolled_at": m.enrolled_at.to_string(),
            "branch_id": id(m.branch_id.map(|b| b.0)), "employee_id": id(m.employee_id.map(|e| e.0)),
            "quality": m.quality, "quality_missing": m.quality_missing,
            "invited_by": id(m.invited_by.map(|c| c.0)), "fee_paid_minor": m.fee_paid, "left_at": time(m.left_at),
        })),
        "events": events.iter().map(|e| json!({
            "seq": e.seq, "kind": e.kind.as_str(), "at": e.at.to_string(),
            "branch_id": id(e.branch_id.map(|b| b.0)), "employee_id": id(e.employee_id.map(|x| x.0)),
            "actor": e.actor,
            // Stored as a JSON object's text: exported as that object (as the text if it is not one).
            "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or_else(|_| Value::String(e.detail.clone())),
        })).collect::<Vec<_>>(),
    })
}

/// The saved segments a customer is in and their entries and exits (`null` when none).
fn segments_json(members: &[kesher_store::SegmentMember], events: &[kesher_store::SegmentEvent]) -> Value {
    if members.is_empty() && events.is_empty() {
        return Value::Null;
    }
    json!({
        "member_of": members.iter().map(|m| json!({"segment": m.segment, "since": m.since.to_string()}))
            .collect::<Vec<_>>(),
        "history": events.iter().map(|e| json!({"seq": e.seq, "segment": e.segment, "kind": e.kind.as_str(),
            "at": e.at.to_string(), "run_id": e.run_id.to_string()})).collect::<Vec<_>>(),
    })
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

#[cfg(test)]
mod tests {
    use super::{EXPORTED_TABLES, NOT_EXPORTED_TABLES};
    use crate::import::ImportKind;
    use crate::test_support::{app_named, import};
    use kesher_store::bulk::{Kind, TABLES};
    use kesher_store::{Actor, CustomerScore, Identifier, PointsRequest};
    use serde_json::Value;

    /// Whether a table holds something about a customer: the customers themselves, or a row
    /// keyed by a customer's id.
    fn customer_keyed(t: &kesher_store::bulk::TableSpec) -> bool {
        t.name == "customers"
            || t.columns
                .iter()
                .any(|(c, k)| *k == Kind::Uuid && matches!(*c, "customer_id" | "kept_id" | "dropped_id"))
    }

    #[test]
    fn every_customer_keyed_table_is_exported_or_excluded_on_purpose() {
        let mut missing = Vec::new();
        for t in TABLES.iter().filter(|t| customer_keyed(t)) {
            let listed = EXPORTED_TABLES.iter().any(|(n, _)| *n == t.name)
                || NOT_EXPORTED_TABLES.iter().any(|(n, _)| *n == t.name);
            if !listed {
                missing.push(t.name);
            }
        }
        assert!(
            missing.is_empty(),
            "customer-keyed tables neither in the export nor in NOT_EXPORTED_TABLES: {missing:?}"
        );
        for (n, _) in EXPORTED_TABLES.iter().chain(NOT_EXPORTED_TABLES) {
            assert!(TABLES.iter().any(|t| t.name == *n), "{n} is not a table");
        }
    }

    #[test]
    fn the_export_holds_a_row_of_every_customer_keyed_table() {
        let t = app_named("export");
        let app = &t.app;
        import(
            app,
            ImportKind::Customers,
            "customer_id,name,phone,consent_email\nM1,Dana Levi,050-1111111,granted\nM2,Dana L,050-2222222,\n",
        );
        let actor = Actor::new("test", app.now());
        app.set_earning_rule(
            &kesher_loyalty::EarningRule::new().with(
                kesher_core::Currency::parse("ILS").unwrap(),
                kesher_loyalty::EarnRate::new(1, 10_000).unwrap(),
            ),
            &actor,
        )
        .unwrap();
        import(
            app,
            ImportKind::Products,
            "sku,name,category,list_price,unit_cost,currency\nP1,Beans,Coffee,100.00,41.00,ILS\n",
        );
        import(
            app,
            ImportKind::Transactions,
            "transaction_id,customer_id,branch_id,occurred_at,sku,quantity,unit_price,currency\nT1,M1,B1,2025-01-05T10:00:00Z,P1,1,100.00,ILS\n",
        );
        app.award_points(None, &actor).unwrap();
        let find = |m: &str| {
            app.store
                .lookup_customer(&Identifier::Member(m.into()))
                .unwrap()
                .unwrap()
                .id
        };
        let (keep, drop) = (find("M1"), find("M2"));
        app.adjust_points(
            keep,
            &PointsRequest {
                points: 5,
                reason: Some("birthday".into()),
                idempotency_key: None,
                branch_id: None,
            },
            &actor,
        )
        .unwrap();
        import(
            app,
            ImportKind::Interactions,
            "interaction_id,customer_id,channel,kind,occurred_at,text\nI1,M1,phone,complaint,2025-01-06T10:00:00Z,cold coffee\n",
        );
        app.merge_customers(keep, drop, &actor).unwrap();
        let mut tx = app.store.begin(kesher_store::Lock::Writes).unwrap();
        tx.put_loyalty_member(&kesher_loyalty::Member {
            customer_id: keep,
            status: kesher_loyalty::MemberStatus::Active,
            tier: Some("gold".into()),
            tier_since: Some(app.now()),
            tier_review_at: None,
            enrolled_at: app.now(),
            branch_id: None,
            employee_id: None,
            quality: 75,
            quality_missing: vec!["email".into()],
            invited_by: None,
            fee_paid: 0,
            left_at: None,
        })
        .unwrap();
        tx.insert_member_event(&kesher_loyalty::MemberEvent {
            seq: 0,
            customer_id: keep,
            kind: kesher_loyalty::MemberEventKind::Enrol,
            at: app.now(),
            branch_id: None,
            employee_id: None,
            actor: "test".into(),
            detail: r#"{"quality":75}"#.into(),
        })
        .unwrap();
        tx.insert_benefit_grant(&kesher_loyalty::benefits::Grant {
            id: kesher_core::BenefitGrantId(uuid::Uuid::now_v7()),
            customer_id: keep,
            benefit: "coffee".into(),
            state: kesher_loyalty::benefits::GrantState::Available,
            granted_at: app.now(),
            available_until: app.now(),
            granted_by: "test".into(),
            source: kesher_loyalty::benefits::GrantSource::Manual,
            used_at: None,
            honoured_by: None,
            honoured_branch: None,
            honour_key: None,
            points_seq: None,
            draw_id: None,
            idempotency_key: Some("g1".into()),
        })
        .unwrap();
        let campaign = kesher_core::CampaignId(uuid::Uuid::now_v7());
        tx.insert_campaign(&kesher_store::CampaignRow {
            id: campaign,
            name: "Welcome".into(),
            definition: "{}".into(),
            state: kesher_store::CampaignState::Launched,
            seed: 7,
            created_by: "test".into(),
            created_at: app.now(),
            launched_at: Some(app.now()),
        })
        .unwrap();
        tx.insert_campaign_messages(&[kesher_store::OutboxMessage {
            campaign_id: campaign,
            customer_id: keep,
            arm: "all".into(),
            channel: Some("email".into()),
            state: kesher_store::MessageState::Sent,
            suppression: None,
            language: Some("en".into()),
            subject: Some("Welcome".into()),
            body: Some("Hello".into()),
            message_id: "<m@kesher>".into(),
            attempts: 1,
            next_attempt_at: None,
            sent_at: Some(app.now()),
            last_error: None,
            created_at: app.now(),
            occurrence: 0,
        }])
        .unwrap();
        tx.record_campaign_click(campaign, keep, 0, 0, app.now()).unwrap();
        tx.commit().unwrap();
        app.store.record_stage_history("2025-01", &[(keep, "core")]).unwrap();
        app.save_segment("named", "member_no is set", None, &actor).unwrap();
        app.refresh_segment_history(&actor).unwrap();
        let score = CustomerScore {
            customer_id: keep,
            as_of: app.now(),
            model: "bgnbd".into(),
            stage: "core".to_string().into(),
            frequency: 2.0,
            recency: 30.5,
            t: 38.9,
            monetary: 100.0,
            revenue: 10000,
            margin: None,
            p_alive: Some(0.7),
            expected_purchases: Some(1.2),
            clv: Some(321.5),
            rfm: Some("545".into()),
            segment: Some("champions".into()),
            tier: Some("top".into()),
            wallet: None,
            share_of_wallet: None,
        };
        app.store.replace_customer_scores(app.now(), "bgnbd", &[score]).unwrap();
        let doc = app.export_customer(keep, &actor).unwrap();
        app.erase_customer(keep, &actor).unwrap();
        let erased = app.export_customer(keep, &actor).unwrap();
        for (table, key) in EXPORTED_TABLES {
            let doc = if *table == "erasures" { &erased } else { &doc };
            let v = &doc[key];
            let empty = match v {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            assert!(!empty, "{table}: the export's {key} is empty: {doc}");
        }
        assert_eq!(doc["points"]["balance"], 6, "{doc}");
        assert_eq!(doc["points"]["ledger"].as_array().unwrap().len(), 2, "{doc}");
        assert_eq!(doc["merged_in"][0]["customer_id"], drop.to_string());
        assert_eq!(doc["stage_history"][0]["stage"], "core");
        assert_eq!(doc["loyalty"]["member"]["tier"], "gold", "{doc}");
        assert_eq!(doc["loyalty"]["events"][0]["detail"]["quality"], 75, "{doc}");
        assert_eq!(erased["loyalty"]["events"][0]["detail"]["erased"], true, "{erased}");
        assert_eq!(doc["segments"]["member_of"][0]["segment"], "named", "{doc}");
        assert_eq!(doc["segments"]["history"][0]["kind"], "entered", "{doc}");
    }
}
