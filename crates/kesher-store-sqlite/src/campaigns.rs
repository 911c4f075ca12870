//! Campaigns and their outbox on SQLite: their rows inside a unit of work (`CampaignRows`, a part
//! of every `Tx`). A claim needs no row lock: the unit holds the single writer.

use crate::convert::{Ctx, all, one};
use crate::ts;
use crate::unit::SqliteTx;
use jiff::Timestamp;
use kesher_core::{CampaignId, CustomerId};
use kesher_store::campaigns::{self, CAMPAIGN_SELECT, CLICK_SELECT, MESSAGE_SELECT};
use kesher_store::{
    CampaignClick, CampaignRow, CampaignRows, CampaignState, MessageKey, MessageState, OutboxCounts, OutboxMessage,
    Result,
};
use rusqlite::params;

impl CampaignRows for SqliteTx<'_> {
    fn insert_campaign(&mut self, c: &CampaignRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO campaigns (id, name, definition, state, seed, created_by, created_at, launched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    c.id.as_bytes(),
                    c.name,
                    c.definition,
                    c.state.as_str(),
                    c.seed.to_string(),
                    c.created_by,
                    ts(c.created_at),
                    c.launched_at.map(ts),
                ],
            )
            .be()?;
        Ok(())
    }

    fn campaign(&mut self, id: CampaignId) -> Result<Option<CampaignRow>> {
        one(
            &self.conn,
            &format!("{CAMPAIGN_SELECT} WHERE id = ?1"),
            [id.as_bytes()],
            |r| campaigns::campaign(r),
        )
    }

    fn campaigns(&mut self) -> Result<Vec<CampaignRow>> {
        all(
            &self.conn,
            &format!("{CAMPAIGN_SELECT} ORDER BY created_at DESC, id DESC"),
            [],
            |r| campaigns::campaign(r),
        )
    }

    fn set_campaign_state(
        &mut self,
        id: CampaignId,
        state: CampaignState,
        launched_at: Option<Timestamp>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE campaigns SET state = ?2, launched_at = coalesce(?3, launched_at) WHERE id = ?1",
                params![id.as_bytes(), state.as_str(), launched_at.map(ts)],
            )
            .be()?;
        Ok(())
    }

    fn insert_campaign_messages(&mut self, messages: &[OutboxMessage]) -> Result<u64> {
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO campaign_messages (campaign_id, customer_id, arm, channel, state, suppression, language,
                    subject, body, message_id, attempts, next_attempt_at, sent_at, last_error, created_at, occurrence)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (campaign_id, customer_id, occurrence) DO NOTHING",
            )
            .be()?;
        let mut new = 0u64;
        for m in messages {
            new += st
                .execute(params![
                    m.campaign_id.as_bytes(),
                    m.customer_id.as_bytes(),
                    m.arm,
                    m.channel,
                    m.state.as_str(),
                    m.suppression,
                    m.language,
                    m.subject,
                    m.body,
                    m.message_id,
                    m.attempts,
                    m.next_attempt_at.map(ts),
                    m.sent_at.map(ts),
                    m.last_error,
                    ts(m.created_at),
                    m.occurrence,
                ])
                .be()? as u64;
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
            &self.conn,
            &format!("{MESSAGE_SELECT} WHERE campaign_id = ?1 AND customer_id = ?2 AND occurrence = ?3"),
            params![campaign.as_bytes(), customer.as_bytes(), occurrence],
            |r| campaigns::outbox_message(r),
        )
    }

    fn campaign_messages(
        &mut self,
        campaign: CampaignId,
        after: Option<MessageKey>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
        // No key yet: before every customer (an empty BLOB sorts first) and every occurrence.
        let (customer, occurrence) = after.map_or((Vec::new(), i64::MIN), |(c, o)| (c.as_bytes().to_vec(), o));
        all(
            &self.conn,
            &format!(
                "{MESSAGE_SELECT} WHERE campaign_id = ?1 AND (customer_id, occurrence) > (?2, ?3)
                 ORDER BY customer_id, occurrence LIMIT ?4"
            ),
            params![campaign.as_bytes(), customer, occurrence, limit as i64],
            |r| campaigns::outbox_message(r),
        )
    }

    fn customer_campaign_messages(&mut self, customer: CustomerId) -> Result<Vec<OutboxMessage>> {
        all(
            &self.conn,
            &format!("{MESSAGE_SELECT} WHERE customer_id = ?1 ORDER BY created_at, campaign_id"),
            [customer.as_bytes()],
            |r| campaigns::outbox_message(r),
        )
    }

    fn recent_message_times(&mut self, customer: CustomerId, since: Timestamp) -> Result<Vec<Timestamp>> {
        all(
            &self.conn,
            "SELECT t FROM (SELECT CASE WHEN state = 'sent' THEN sent_at ELSE next_attempt_at END AS t
               FROM campaign_messages WHERE customer_id = ?1 AND state IN ('queued', 'sending', 'sent'))
             WHERE t > ?2 ORDER BY t",
            params![customer.as_bytes(), ts(since)],
            |r| kesher_store::rows::Columns::time(r, 0),
        )
    }

    fn claim_campaign_messages(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
        let due = all(
            &self.conn,
            &format!(
                "{MESSAGE_SELECT} WHERE state IN ('queued', 'sending') AND next_attempt_at <= ?1
                   AND campaign_id IN (SELECT id FROM campaigns WHERE state = 'launched')
                 ORDER BY next_attempt_at, campaign_id, customer_id, occurrence LIMIT ?2"
            ),
            params![ts(now), limit as i64],
            |r| campaigns::outbox_message(r),
        )?;
        let mut st = self
            .conn
            .prepare_cached(
                "UPDATE campaign_messages SET state = 'sending', attempts = attempts + 1, next_attempt_at = ?3,
                    last_error = ?5
                 WHERE campaign_id = ?1 AND customer_id = ?2 AND occurrence = ?4",
            )
            .be()?;
        let mut claimed = Vec::with_capacity(due.len());
        for mut m in due {
            if m.state == MessageState::Sending {
                m.last_error = Some(kesher_store::campaigns::lease_expired(m.last_error.as_deref()));
            }
            st.execute(params![
                m.campaign_id.as_bytes(),
                m.customer_id.as_bytes(),
                ts(lease_until),
                m.occurrence,
                m.last_error
            ])
            .be()?;
            m.state = MessageState::Sending;
            m.attempts += 1;
            m.next_attempt_at = Some(lease_until);
            claimed.push(m);
        }
        Ok(claimed)
    }

    fn update_campaign_message(&mut self, m: &OutboxMessage) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE campaign_messages SET state = ?3, suppression = ?4, attempts = ?5, next_attempt_at = ?6,
                    sent_at = ?7, last_error = ?8 WHERE campaign_id = ?1 AND customer_id = ?2 AND occurrence = ?9",
            )
            .be()?
            .execute(params![
                m.campaign_id.as_bytes(),
                m.customer_id.as_bytes(),
                m.state.as_str(),
                m.suppression,
                m.attempts,
                m.next_attempt_at.map(ts),
                m.sent_at.map(ts),
                m.last_error,
                m.occurrence,
            ])
            .be()?;
        Ok(())
    }

    fn release_campaign_message(&mut self, m: &OutboxMessage) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE campaign_messages SET arm = ?3, language = ?4, subject = ?5, body = ?6, state = ?7,
                    suppression = ?8, attempts = ?9, next_attempt_at = ?10, sent_at = ?11, last_error = ?12
                 WHERE campaign_id = ?1 AND customer_id = ?2 AND occurrence = ?13
                   AND state = 'queued' AND next_attempt_at IS NULL",
            )
            .be()?
            .execute(params![
                m.campaign_id.as_bytes(),
                m.customer_id.as_bytes(),
                m.arm,
                m.language,
                m.subject,
                m.body,
                m.state.as_str(),
                m.suppression,
                m.attempts,
                m.next_attempt_at.map(ts),
                m.sent_at.map(ts),
                m.last_error,
                m.occurrence,
            ])
            .be()?;
        Ok(changed == 1)
    }

    fn campaign_message_counts(&mut self, campaign: CampaignId) -> Result<OutboxCounts> {
        let rows = all(
            &self.conn,
            "SELECT state, suppression, count(*) FROM campaign_messages WHERE campaign_id = ?1
             GROUP BY state, suppression ORDER BY state, suppression",
            [campaign.as_bytes()],
            |r| {
                use kesher_store::rows::Columns;
                let state = r.text(0)?;
                Ok((
                    MessageState::parse(&state).ok_or_else(|| kesher_store::rows::corrupt("message state", &state))?,
                    r.opt_text(1)?,
                    r.int(2)? as u64,
                ))
            },
        )?;
        Ok(OutboxCounts { rows })
    }

    fn move_campaign_messages(&mut self, from: CustomerId, to: CustomerId) -> Result<u64> {
        let moved = self
            .conn
            .execute(
                "UPDATE campaign_messages SET customer_id = ?1 WHERE customer_id = ?2
                 AND NOT EXISTS (SELECT 1 FROM campaign_messages k WHERE k.customer_id = ?1
                     AND k.campaign_id = campaign_messages.campaign_id
                     AND k.occurrence = campaign_messages.occurrence)",
                [to.as_bytes(), from.as_bytes()],
            )
            .be()? as u64;
        self.conn
            .execute(
                "DELETE FROM campaign_messages WHERE customer_id = ?1",
                [from.as_bytes()],
            )
            .be()?;
        self.conn
            .execute(
                "UPDATE campaign_clicks SET customer_id = ?1 WHERE customer_id = ?2
                 AND EXISTS (SELECT 1 FROM campaign_messages m WHERE m.customer_id = ?1
                     AND m.campaign_id = campaign_clicks.campaign_id AND m.occurrence = campaign_clicks.occurrence)
                 AND NOT EXISTS (SELECT 1 FROM campaign_clicks o WHERE o.customer_id = ?1
                     AND o.campaign_id = campaign_clicks.campaign_id AND o.occurrence = campaign_clicks.occurrence
                     AND o.link = campaign_clicks.link)",
                [to.as_bytes(), from.as_bytes()],
            )
            .be()?;
        self.conn
            .execute("DELETE FROM campaign_clicks WHERE customer_id = ?1", [from.as_bytes()])
            .be()?;
        Ok(moved)
    }

    fn delete_campaign_messages(&mut self, customer: CustomerId) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM campaign_clicks WHERE customer_id = ?1",
                [customer.as_bytes()],
            )
            .be()?;
        self.conn
            .execute(
                "DELETE FROM campaign_messages WHERE customer_id = ?1",
                [customer.as_bytes()],
            )
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
        let clicks: i64 = self
            .conn
            .query_row(
                "INSERT INTO campaign_clicks (campaign_id, customer_id, occurrence, link, clicks, first_at, last_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
                 ON CONFLICT (campaign_id, customer_id, occurrence, link)
                 DO UPDATE SET clicks = clicks + 1, last_at = max(last_at, excluded.last_at)
                 RETURNING clicks",
                params![campaign.as_bytes(), customer.as_bytes(), occurrence, link, ts(at)],
                |r| r.get(0),
            )
            .be()?;
        Ok(clicks == 1)
    }

    fn campaign_clicks(&mut self, campaign: CampaignId) -> Result<Vec<CampaignClick>> {
        all(
            &self.conn,
            &format!("{CLICK_SELECT} WHERE campaign_id = ?1 ORDER BY customer_id, occurrence, link"),
            [campaign.as_bytes()],
            |r| campaigns::campaign_click(r),
        )
    }

    fn customer_campaign_clicks(&mut self, customer: CustomerId) -> Result<Vec<CampaignClick>> {
        all(
            &self.conn,
            &format!("{CLICK_SELECT} WHERE customer_id = ?1 ORDER BY campaign_id, occurrence, link"),
            [customer.as_bytes()],
            |r| campaigns::campaign_click(r),
        )
    }
}
