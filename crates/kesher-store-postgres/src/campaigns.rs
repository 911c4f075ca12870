//! Campaigns and their outbox on PostgreSQL: their rows inside a unit of work (`CampaignRows`, a
//! part of every `Tx`). A claim locks the due rows `FOR UPDATE SKIP LOCKED`, so that two senders
//! never take one message.

use crate::convert::{Ctx, all, one};
use crate::unit::PgTx;
use jiff::Timestamp;
use kesher_core::{CampaignId, CustomerId};
use kesher_store::campaigns::{self, CAMPAIGN_SELECT, CLICK_SELECT, MESSAGE_SELECT};
use kesher_store::rows::{Columns, corrupt};
use kesher_store::{
    CampaignClick, CampaignRow, CampaignRows, CampaignState, MessageKey, MessageState, OutboxCounts, OutboxMessage,
    Result,
};

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl CampaignRows for PgTx<'_> {
    fn insert_campaign(&mut self, c: &CampaignRow) -> Result<()> {
        self.client()?
            .execute(
                "INSERT INTO campaigns (id, name, definition, state, seed, created_by, created_at, launched_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &c.id.0,
                    &c.name,
                    &c.definition,
                    &c.state.as_str(),
                    &c.seed.to_string(),
                    &c.created_by,
                    &c.created_at,
                    &c.launched_at,
                ],
            )
            .be()?;
        Ok(())
    }

    fn campaign(&mut self, id: CampaignId) -> Result<Option<CampaignRow>> {
        one(
            self.client()?,
            &format!("{CAMPAIGN_SELECT} WHERE id = $1"),
            &[&id.0],
            |r| campaigns::campaign(r),
        )
    }

    fn campaigns(&mut self) -> Result<Vec<CampaignRow>> {
        all(
            self.client()?,
            &format!("{CAMPAIGN_SELECT} ORDER BY created_at DESC, id DESC"),
            &[],
            |r| campaigns::campaign(r),
        )
    }

    fn set_campaign_state(
        &mut self,
        id: CampaignId,
        state: CampaignState,
        launched_at: Option<Timestamp>,
    ) -> Result<()> {
        self.client()?
            .execute(
                "UPDATE campaigns SET state = $2, launched_at = coalesce($3, launched_at) WHERE id = $1",
                &[&id.0, &state.as_str(), &launched_at],
            )
            .be()?;
        Ok(())
    }

    fn insert_campaign_messages(&mut self, messages: &[OutboxMessage]) -> Result<u64> {
        let c = self.client()?;
        let st = c
            .prepare(
                "INSERT INTO campaign_messages (campaign_id, customer_id, arm, channel, state, suppression, language,
                    subject, body, message_id, attempts, next_attempt_at, sent_at, last_error, created_at, occurrence)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                 ON CONFLICT (campaign_id, customer_id, occurrence) DO NOTHING",
            )
            .be()?;
        let mut new = 0u64;
        for m in messages {
            new += c
                .execute(
                    &st,
                    &[
                        &m.campaign_id.0,
                        &m.customer_id.0,
                        &m.arm,
                        &m.channel,
                        &m.state.as_str(),
                        &m.suppression,
                        &m.language,
                        &m.subject,
                        &m.body,
                        &m.message_id,
                        &m.attempts,
                        &m.next_attempt_at,
                        &m.sent_at,
                        &m.last_error,
                        &m.created_at,
                        &m.occurrence,
                    ],
                )
                .be()?;
        }
        Ok(new)
    }

    fn campaign_message(
        &mut self,
        campaign: CampaignId,
        customer: CustomerId,
        occurrence: i64,
    ) -> Result<Option<OutboxMessage>> {
        one(
            self.client()?,
            &format!("{MESSAGE_SELECT} WHERE campaign_id = $1 AND customer_id = $2 AND occurrence = $3"),
            &[&campaign.0, &customer.0, &occurrence],
            |r| campaigns::outbox_message(r),
        )
    }

    fn campaign_messages(
        &mut self,
        campaign: CampaignId,
        after: Option<MessageKey>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
        all(
            self.client()?,
            &format!(
                "{MESSAGE_SELECT} WHERE campaign_id = $1
                   AND ($2::uuid IS NULL OR (customer_id, occurrence) > ($2, $3::bigint))
                 ORDER BY customer_id, occurrence LIMIT $4"
            ),
            &[
                &campaign.0,
                &after.map(|a| a.0.0),
                &after.map_or(0, |a| a.1),
                &limit_of(limit),
            ],
            |r| campaigns::outbox_message(r),
        )
    }

    fn customer_campaign_messages(&mut self, customer: CustomerId) -> Result<Vec<OutboxMessage>> {
        all(
            self.client()?,
            &format!("{MESSAGE_SELECT} WHERE customer_id = $1 ORDER BY created_at, campaign_id"),
            &[&customer.0],
            |r| campaigns::outbox_message(r),
        )
    }

    fn recent_message_times(&mut self, customer: CustomerId, since: Timestamp) -> Result<Vec<Timestamp>> {
        all(
            self.client()?,
            "SELECT t FROM (SELECT CASE WHEN state = 'sent' THEN sent_at ELSE next_attempt_at END AS t
               FROM campaign_messages WHERE customer_id = $1 AND state IN ('queued', 'sending', 'sent')) m
             WHERE t > $2 ORDER BY t",
            &[&customer.0, &since],
            |r| r.time(0),
        )
    }

    fn claim_campaign_messages(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
        let c = self.client()?;
        let due = all(
            c,
            &format!(
                "{MESSAGE_SELECT} WHERE state IN ('queued', 'sending') AND next_attempt_at <= $1
                   AND campaign_id IN (SELECT id FROM campaigns WHERE state = 'launched')
                 ORDER BY next_attempt_at, campaign_id, customer_id, occurrence LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            &[&now, &limit_of(limit)],
            |r| campaigns::outbox_message(r),
        )?;
        let st = c
            .prepare(
                "UPDATE campaign_messages SET state = 'sending', attempts = attempts + 1, next_attempt_at = $3,
                    last_error = $5
                 WHERE campaign_id = $1 AND customer_id = $2 AND occurrence = $4",
            )
            .be()?;
        let mut claimed = Vec::with_capacity(due.len());
        for mut m in due {
            if m.state == MessageState::Sending {
                m.last_error = Some(kesher_store::campaigns::lease_expired(m.last_error.as_deref()));
            }
            c.execute(
                &st,
                &[
                    &m.campaign_id.0,
                    &m.customer_id.0,
                    &lease_until,
                    &m.occurrence,
                    &m.last_error,
                ],
            )
            .be()?;
            m.state = MessageState::Sending;
            m.attempts += 1;
            m.next_attempt_at = Some(lease_until);
            claimed.push(m);
        }
        Ok(claimed)
    }

    fn update_campaign_message(&mut self, m: &OutboxMessage) -> Result<()> {
        self.client()?
            .execute(
                "UPDATE campaign_messages SET state = $3, suppression = $4, attempts = $5, next_attempt_at = $6,
                    sent_at = $7, last_error = $8 WHERE campaign_id = $1 AND customer_id = $2 AND occurrence = $9",
                &[
                    &m.campaign_id.0,
                    &m.customer_id.0,
                    &m.state.as_str(),
                    &m.suppression,
                    &m.attempts,
                    &m.next_attempt_at,
                    &m.sent_at,
                    &m.last_error,
                    &m.occurrence,
                ],
            )
            .be()?;
        Ok(())
    }

    fn release_campaign_message(&mut self, m: &OutboxMessage) -> Result<bool> {
        let changed = self
            .client()?
            .execute(
                "UPDATE campaign_messages SET arm = $3, language = $4, subject = $5, body = $6, state = $7,
                    suppression = $8, attempts = $9, next_attempt_at = $10, sent_at = $11, last_error = $12
                 WHERE campaign_id = $1 AND customer_id = $2 AND occurrence = $13
                   AND state = 'queued' AND next_attempt_at IS NULL",
                &[
                    &m.campaign_id.0,
                    &m.customer_id.0,
                    &m.arm,
                    &m.language,
                    &m.subject,
                    &m.body,
                    &m.state.as_str(),
                    &m.suppression,
                    &m.attempts,
                    &m.next_attempt_at,
                    &m.sent_at,
                    &m.last_error,
                    &m.occurrence,
                ],
            )
            .be()?;
        Ok(changed == 1)
    }

    fn campaign_message_counts(&mut self, campaign: CampaignId) -> Result<OutboxCounts> {
        let rows = all(
            self.client()?,
            "SELECT state, suppression, count(*) FROM campaign_messages WHERE campaign_id = $1
             GROUP BY state, suppression ORDER BY state, suppression",
            &[&campaign.0],
            |r| {
                let state = r.text(0)?;
                Ok((
                    MessageState::parse(&state).ok_or_else(|| corrupt("message state", &state))?,
                    r.opt_text(1)?,
                    u64::try_from(r.int(2)?).unwrap_or(0),
                ))
            },
        )?;
        Ok(OutboxCounts { rows })
    }

    fn move_campaign_messages(&mut self, from: CustomerId, to: CustomerId) -> Result<u64> {
        let c = self.client()?;
        let moved = c
            .execute(
                "UPDATE campaign_messages m SET customer_id = $1 WHERE customer_id = $2
                 AND NOT EXISTS (SELECT 1 FROM campaign_messages k WHERE k.customer_id = $1
                     AND k.campaign_id = m.campaign_id AND k.occurrence = m.occurrence)",
                &[&to.0, &from.0],
            )
            .be()?;
        c.execute("DELETE FROM campaign_messages WHERE customer_id = $1", &[&from.0])
            .be()?;
        c.execute(
            "UPDATE campaign_clicks k SET customer_id = $1 WHERE customer_id = $2
             AND EXISTS (SELECT 1 FROM campaign_messages m WHERE m.customer_id = $1
                 AND m.campaign_id = k.campaign_id AND m.occurrence = k.occurrence)
             AND NOT EXISTS (SELECT 1 FROM campaign_clicks o WHERE o.customer_id = $1
                 AND o.campaign_id = k.campaign_id AND o.occurrence = k.occurrence AND o.link = k.link)",
            &[&to.0, &from.0],
        )
        .be()?;
        c.execute("DELETE FROM campaign_clicks WHERE customer_id = $1", &[&from.0])
            .be()?;
        Ok(moved)
    }

    fn delete_campaign_messages(&mut self, customer: CustomerId) -> Result<()> {
        let c = self.client()?;
        c.execute("DELETE FROM campaign_clicks WHERE customer_id = $1", &[&customer.0])
            .be()?;
        c.execute("DELETE FROM campaign_messages WHERE customer_id = $1", &[&customer.0])
            .be()?;
        Ok(())
    }

    fn record_campaign_click(
        &mut self,
        campaign: CampaignId,
        customer: CustomerId,
        occurrence: i64,
        link: i64,
        at: Timestamp,
    ) -> Result<bool> {
        let row = self
            .client()?
            .query_one(
                "INSERT INTO campaign_clicks (campaign_id, customer_id, occurrence, link, clicks, first_at, last_at)
                 VALUES ($1, $2, $3, $4, 1, $5, $5)
                 ON CONFLICT (campaign_id, customer_id, occurrence, link)
                 DO UPDATE SET clicks = campaign_clicks.clicks + 1,
                    last_at = greatest(campaign_clicks.last_at, excluded.last_at)
                 RETURNING clicks",
                &[&campaign.0, &customer.0, &occurrence, &link, &at],
            )
            .be()?;
        let clicks: i64 = crate::convert::col(&row, 0)?;
        Ok(clicks == 1)
    }

    fn campaign_clicks(&mut self, campaign: CampaignId) -> Result<Vec<CampaignClick>> {
        all(
            self.client()?,
            &format!("{CLICK_SELECT} WHERE campaign_id = $1 ORDER BY customer_id, occurrence, link"),
            &[&campaign.0],
            |r| campaigns::campaign_click(r),
        )
    }

    fn customer_campaign_clicks(&mut self, customer: CustomerId) -> Result<Vec<CampaignClick>> {
        all(
            self.client()?,
            &format!("{CLICK_SELECT} WHERE customer_id = $1 ORDER BY campaign_id, occurrence, link"),
            &[&customer.0],
            |r| campaigns::campaign_click(r),
        )
    }
}
