//! Retention economics (docs/campaigns.md): the business's prices — per thousand messages of
//! each channel and the cost of winning a new customer — kept in the settings row
//! `campaigns.costs`, and, for every launched campaign, what it cost and how many customers it
//! measurably kept against its control group (`kesher_campaign::economics`).

use super::{CampaignReport, SegmentError};
use crate::App;
use kesher_campaign::economics::{Costs, Economics, Measured, evaluate};
use kesher_campaign::stats::Interval;
use kesher_core::Currency;
use kesher_store::{Actor, Lock, MessageState, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The settings row holding the prices.
const COSTS_KEY: &str = "campaigns.costs";
/// The channels a price may name.
const CHANNELS: [&str; 3] = ["email", "sms", "log"];
/// The largest price per thousand messages and of winning a customer, in minor units
/// (10,000,000.00 of the currency): a bound on typing errors, far above any real price.
pub const MAX_COST_MINOR: i64 = 1_000_000_000;

/// The prices as written: decimal amounts in the currency's major units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostsText {
    pub currency: String,
    /// Per 1,000 messages sent, by channel: `{"email": "2.00", "sms": "80.00"}`.
    #[serde(default)]
    pub per_thousand: BTreeMap<String, String>,
    /// The cost of winning one new customer, when the business knows it.
    #[serde(default)]
    pub acquisition: Option<String>,
}

/// The prices, read.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignCosts {
    pub text: CostsText,
    pub currency: Currency,
    pub costs: Costs,
}

fn invalid(key: String, reason: String) -> SegmentError {
    SegmentError::Store(StoreError::invalid_coded(
        "campaign.costs.invalid",
        "costs",
        kesher_core::params!(key = key.as_str(), reason = reason.as_str()),
        format!("{key}: {reason}"),
    ))
}

fn amount(currency: Currency, key: String, text: &str) -> Result<i64, SegmentError> {
    let minor = currency
        .parse_amount(text, "costs")
        .map_err(|e| invalid(key.clone(), e.reason.clone()))?;
    if !(0..=MAX_COST_MINOR).contains(&minor) {
        return Err(invalid(
            key,
            format!("must be from 0 to {}", currency.format_amount(MAX_COST_MINOR)),
        ));
    }
    Ok(minor)
}

/// Read and check the prices' JSON.
pub fn parse_costs(json: &str) -> Result<CampaignCosts, SegmentError> {
    let text: CostsText = serde_json::from_str(json).map_err(|e| invalid("costs".into(), e.to_string()))?;
    let currency = Currency::parse(&text.currency).map_err(|e| invalid("currency".into(), e.reason))?;
    let mut per_thousand = BTreeMap::new();
    for (channel, price) in &text.per_thousand {
        if !CHANNELS.contains(&channel.as_str()) {
            return Err(invalid(
                format!("per_thousand.{channel}"),
                format!("unknown channel; expected one of {}", CHANNELS.join(", ")),
            ));
        }
        per_thousand.insert(
            channel.clone(),
            amount(currency, format!("per_thousand.{channel}"), price)?,
        );
    }
    let acquisition = match &text.acquisition {
        Some(a) => Some(amount(currency, "acquisition".into(), a)?),
        None => None,
    };
    Ok(CampaignCosts {
        text,
        currency,
        costs: Costs {
            per_thousand,
            acquisition,
        },
    })
}

/// The economics of every launched campaign, in the prices' currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EconomicsReport {
    pub currency: String,
    #[serde(flatten)]
    pub economics: Economics,
}

/// The response lift and its interval from a report, when it was measured.
fn lift_of(report: &CampaignReport) -> Option<(f64, Interval)> {
    let r = &report.response;
    let ci = r.get("ci")?.as_array()?;
    Some((
        r.get("lift")?.as_f64()?,
        Interval {
            low: ci.first()?.as_f64()?,
            high: ci.get(1)?.as_f64()?,
        },
    ))
}

impl App {
    /// The campaigns' prices, when set.
    pub fn campaign_costs(&self) -> Result<Option<CampaignCosts>, SegmentError> {
        match self.store.get_setting(COSTS_KEY)? {
            Some(text) => parse_costs(&text).map(Some),
            None => Ok(None),
        }
    }

    /// Set the campaigns' prices (audited with the previous ones).
    pub fn set_campaign_costs(&self, json: &str, actor: &Actor) -> Result<CampaignCosts, SegmentError> {
        let costs = parse_costs(json)?;
        let text = serde_json::to_string(&costs.text).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.store.begin(Lock::Writes)?;
        let before = tx.setting(COSTS_KEY)?;
        tx.put_setting_row(COSTS_KEY, &text)?;
        tx.append_audit(
            actor,
            "campaign.costs",
            "setting",
            COSTS_KEY,
            before
                .as_deref()
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .as_ref(),
            serde_json::from_str::<serde_json::Value>(&text).ok().as_ref(),
        )?;
        tx.commit()?;
        Ok(costs)
    }

    /// Every launched campaign's cost (its sent messages at the prices, and the benefit it
    /// granted with each: `benefit_cost`), the customers it kept (its response lift over the control
    /// group times its recipients) and the cost per customer kept beside the acquisition cost.
    /// `campaign.costs.missing` until the prices are set.
    pub fn campaign_economics(&self) -> Result<EconomicsReport, SegmentError> {
        let prices = self.campaign_costs()?.ok_or_else(|| {
            SegmentError::Store(StoreError::conflict_coded(
                "campaign.costs.missing",
                "costs",
                kesher_core::params!(),
                "the campaigns' prices are not set (kesher campaigns costs, PUT /api/campaigns/costs)",
            ))
        })?;
        let mut measured = Vec::new();
        for row in self.list_campaigns()? {
            if row.launched_at.is_none() {
                continue;
            }
            let report = self.campaign_report(row.id)?;
            let per_grant = self.benefit_cost(&row.definition, prices.currency)?;
            let mut messages: BTreeMap<String, u64> = BTreeMap::new();
            self.for_each_campaign_message(row.id, &mut |m| {
                if m.state == MessageState::Sent {
                    *messages.entry(m.channel.clone().unwrap_or_default()).or_default() += 1;
                }
                Ok(())
            })?;
            measured.push(Measured {
                name: row.name.clone(),
                messages,
                benefits: per_grant.saturating_mul(i64::try_from(report.sent).unwrap_or(i64::MAX)),
                recipients: report.recipients.customers,
                lift: lift_of(&report).filter(|_| report.complete),
            });
        }
        Ok(EconomicsReport {
            currency: prices.currency.as_str().to_string(),
            economics: evaluate(&measured, &prices.costs),
        })
    }

    /// What one grant of the campaign's benefit costs the business, in minor units of the
    /// prices' currency: a fixed credit its amount, a gift product its unit cost (else its list
    /// price); a percentage discount and points have no price of their own here and count 0, as
    /// does a campaign without a benefit. Each sent message carries one grant (granted just
    /// before it goes).
    fn benefit_cost(&self, definition: &str, currency: kesher_core::Currency) -> Result<i64, SegmentError> {
        let Ok(campaign) = kesher_campaign::Campaign::parse(definition) else {
            return Ok(0);
        };
        let Some(kesher_campaign::definition::Offer::Benefit(key)) = campaign.offer() else {
            return Ok(0);
        };
        let Some(program) = self.loyalty_program()? else {
            return Ok(0);
        };
        Ok(match program.benefit(key).and_then(|r| r.value.clone()) {
            Some(kesher_loyalty::benefits::BenefitValue::FixedCredit { minor }) if program.currency() == currency => {
                minor
            }
            Some(kesher_loyalty::benefits::BenefitValue::GiftProduct { sku }) => match self.product_by_sku(&sku)? {
                Some(p) if p.list_price.currency == currency => p.unit_cost.unwrap_or(p.list_price.minor),
                _ => 0,
            },
            _ => 0,
        })
    }
}
