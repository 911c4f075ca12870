//! A campaign's offer (`"offer"` in its definition): a benefit of the loyalty program's
//! catalogue, or each customer's next best offer. The offer is in every template's data as
//! `offer` (`{kind: "benefit", key, name, valid_days, value}` or `{kind: "product", sku, name,
//! category, score, because}`); a recipient the offer has nothing for (no next best offer) is
//! suppressed as `no_offer` instead of stopping the launch. A benefit is granted to the customer
//! just before their message is handed to its channel, under the key `campaign-{id}` (`-{year}` added for a recurring campaign): a message
//! sent again after a crash grants nothing twice, and nobody in the control group or suppressed
//! gets one.

use super::{MessageContext, SegmentError};
use crate::App;
use crate::benefits::GrantRequest;
use kesher_campaign::Campaign;
use kesher_campaign::definition::Offer;
use kesher_core::{CampaignId, CustomerId};
use kesher_loyalty::benefits::BenefitValue;
use kesher_store::{Actor, StoreError};
use std::collections::HashMap;

/// The idempotency key of the benefit a campaign grants: one grant per customer and campaign,
/// and per year for a recurring one (`occurrence`, 0 for the other kinds).
pub fn grant_key(campaign: CampaignId, occurrence: i64) -> String {
    if occurrence == 0 {
        format!("campaign-{}", campaign.0.simple())
    } else {
        format!("campaign-{}-{occurrence}", campaign.0.simple())
    }
}

fn unknown(key: &str) -> SegmentError {
    SegmentError::Store(StoreError::invalid_coded(
        "campaign.offer.unknown",
        "offer",
        kesher_core::params!(benefit = key),
        format!("offer: the loyalty program has no benefit {key:?}"),
    ))
}

/// Whether the campaign has an offer and this customer's data has none for them.
pub(crate) fn missing(campaign: &Campaign, ctx: &MessageContext) -> bool {
    campaign.offer().is_some() && ctx.data.get("offer").is_none_or(serde_json::Value::is_null)
}

/// A benefit's value as a template prints it: `{"percent": "12.5"}`, `{"credit": "20.00",
/// "currency": "ILS"}`, `{"gift": SKU}`, `{"points": 100}`.
fn value(v: &BenefitValue, currency: kesher_core::Currency) -> serde_json::Value {
    match v {
        BenefitValue::PercentDiscount { hundredths } => {
            let text = format!("{}.{:02}", hundredths / 100, (hundredths % 100).abs());
            let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
            serde_json::json!({ "percent": text })
        }
        BenefitValue::FixedCredit { minor } => {
            serde_json::json!({ "credit": currency.format_amount(*minor), "currency": currency.as_str() })
        }
        BenefitValue::GiftProduct { sku } => serde_json::json!({ "gift": sku }),
        BenefitValue::Points { points } => serde_json::json!({ "points": points }),
    }
}

impl App {
    /// The template data of the campaign's benefit offer, or an error naming `offer` when the
    /// program has no such benefit (checked at creation and again at the launch).
    pub(crate) fn benefit_offer(&self, key: &str) -> Result<serde_json::Value, SegmentError> {
        let program = self.loyalty_program()?.ok_or_else(|| unknown(key))?;
        let rule = program.benefit(key).ok_or_else(|| unknown(key))?;
        Ok(serde_json::json!({
            "kind": "benefit",
            "key": rule.key,
            "name": rule.name,
            "valid_days": rule.valid_days,
            "value": rule.value.as_ref().map(|v| value(v, program.currency())),
        }))
    }

    /// Check the campaign's offer: a benefit must be in the program's catalogue.
    pub(crate) fn check_campaign_offer(&self, campaign: &Campaign) -> Result<(), SegmentError> {
        if let Some(Offer::Benefit(key)) = campaign.offer() {
            self.benefit_offer(key)?;
        }
        Ok(())
    }

    /// Put the campaign's offer into each customer's template data as `offer`: the benefit for
    /// everyone, or the customer's own next best offer (null when there is none).
    pub(crate) fn attach_offers(
        &self,
        campaign: &Campaign,
        contexts: &mut HashMap<CustomerId, MessageContext>,
    ) -> Result<(), SegmentError> {
        let offer = match campaign.offer() {
            None => return Ok(()),
            Some(Offer::Benefit(key)) => Some(self.benefit_offer(key)?),
            Some(Offer::NextBestOffer) => None,
        };
        for ctx in contexts.values_mut() {
            let value = match &offer {
                Some(benefit) => benefit.clone(),
                None => match ctx.data.get("nbo") {
                    Some(serde_json::Value::Object(nbo)) => {
                        let mut o = nbo.clone();
                        o.insert("kind".into(), "product".into());
                        serde_json::Value::Object(o)
                    }
                    _ => serde_json::Value::Null,
                },
            };
            if let Some(data) = ctx.data.as_object_mut() {
                data.insert("offer".into(), value);
            }
        }
        Ok(())
    }

    /// The message contexts of a campaign's customers, with its offer.
    pub(crate) fn campaign_contexts(
        &self,
        campaign: &Campaign,
        wanted: &dyn Fn(CustomerId) -> bool,
    ) -> Result<HashMap<CustomerId, MessageContext>, SegmentError> {
        let mut contexts = self.message_contexts(wanted, super::needs_offers(campaign))?;
        self.attach_offers(campaign, &mut contexts)?;
        Ok(contexts)
    }

    /// Grant the campaign's benefit to the customer of a message about to be handed over: once
    /// per (campaign, customer) whatever the retries.
    pub(crate) fn grant_campaign_offer(
        &self,
        campaign: CampaignId,
        occurrence: i64,
        benefit: &str,
        customer: CustomerId,
    ) -> Result<(), SegmentError> {
        let actor = Actor::new(format!("campaign:{campaign}"), self.now());
        let req = GrantRequest {
            benefit: benefit.to_string(),
            idempotency_key: Some(grant_key(campaign, occurrence)),
        };
        self.grant_benefit(customer, &req, &actor)?;
        Ok(())
    }
}
