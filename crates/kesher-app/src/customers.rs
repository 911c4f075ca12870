//! The customer record's workflows, written once over the store's unit of work: create, change
//! and delete a customer, and record a contact. Each checks what it must under its lock, writes
//! rows and the audit entry, and commits once.

use crate::App;
use kesher_core::{Customer, CustomerId, Interaction};
use kesher_store::accounts::interaction_audit_json;
use kesher_store::{Actor, Inserted, Lock, Recorded, Result, StoreError, customer_json};

impl App {
    /// Insert a new customer. A member number, phone, e-mail or card already held by another
    /// customer (or by one merged into another) is a `Conflict` naming the field. Audited.
    pub fn insert_customer(&self, c: &Customer, actor: &Actor) -> Result<()> {
        kesher_core::check_instant(c.created_at, self.now(), "created_at").map_err(StoreError::from)?;
        let mut tx = self.store.begin(Lock::Identifiers)?;
        tx.check_identifiers_free(c)?;
        match tx.insert_customer_row(c)? {
            Inserted::New => {}
            Inserted::AlreadyPresent | Inserted::Repeated => {
                return Err(StoreError::conflict_coded(
                    "customer.member_no.taken",
                    "member_no",
                    kesher_core::params!(value = c.member_no.as_deref().unwrap_or("")),
                    format!(
                        "member number {:?} already belongs to another customer",
                        c.member_no.as_deref().unwrap_or("")
                    ),
                ));
            }
        }
        tx.append_audit(
            actor,
            "customer.create",
            "customer",
            &c.id.to_string(),
            None,
            Some(&customer_json(c)),
        )?;
        tx.commit()
    }

    /// Replace a customer's record; consent changes are appended to the history; identifiers
    /// stay unique; audited with the record before and after.
    pub fn update_customer(&self, c: &Customer, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::CustomerRecords(&[c.id]))?;
        let before = tx
            .customer(c.id)?
            .ok_or_else(|| StoreError::not_found("customer", c.id))?;
        tx.check_identifiers_free(c)?;
        if let Some(parent) = c.parent_id {
            if parent == c.id {
                return Err(StoreError::invalid_coded(
                    "customer.parent.self",
                    "parent_id",
                    kesher_core::Params::new(),
                    "a customer cannot be its own parent",
                ));
            }
            if tx.customer(parent)?.is_none() {
                return Err(StoreError::invalid_coded(
                    "customer.parent.not_found",
                    "parent_id",
                    kesher_core::Params::new(),
                    format!("no customer {parent}"),
                ));
            }
        }
        tx.update_customer_row(c, Some(&before.consents))?;
        tx.append_audit(
            actor,
            "customer.update",
            "customer",
            &c.id.to_string(),
            Some(&customer_json(&before)),
            Some(&customer_json(c)),
        )?;
        tx.commit()
    }

    /// Delete a customer who has no sales, no points, no loyalty membership (nor invited a
    /// member) and no child accounts (merge or erase the others); audited.
    pub fn delete_customer(&self, id: CustomerId, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::CustomerRecords(&[id]))?;
        let before = tx.customer(id)?.ok_or_else(|| StoreError::not_found("customer", id))?;
        let dependents = tx.customer_dependents(id)?;
        if dependents.transactions > 0 {
            return Err(StoreError::conflict_coded(
                "customer.delete.has_transactions",
                "id",
                kesher_core::params!(count = dependents.transactions),
                format!(
                    "customer has {} transactions; merge or anonymise instead of deleting",
                    dependents.transactions
                ),
            ));
        }
        if dependents.points_entries > 0 {
            return Err(StoreError::conflict_coded(
                "customer.delete.has_points",
                "id",
                kesher_core::params!(count = dependents.points_entries),
                format!(
                    "customer has {} points entries; merge or anonymise instead of deleting",
                    dependents.points_entries
                ),
            ));
        }
        if dependents.memberships > 0 {
            return Err(StoreError::conflict_coded(
                "customer.delete.is_member",
                "id",
                kesher_core::params!(count = dependents.memberships),
                format!(
                    "customer is named by {} loyalty memberships (their own or of members they invited); merge or anonymise instead of deleting",
                    dependents.memberships
                ),
            ));
        }
        if dependents.children > 0 {
            return Err(StoreError::conflict_coded(
                "customer.delete.has_children",
                "id",
                kesher_core::params!(count = dependents.children),
                format!("customer is the parent account of {} customers", dependents.children),
            ));
        }
        // A campaign's outbox row of a customer without sales is no history worth a refusal.
        tx.delete_campaign_messages(id)?;
        tx.delete_customer_rows(id)?;
        tx.append_audit(
            actor,
            "customer.delete",
            "customer",
            &id.to_string(),
            Some(&customer_json(&before)),
            None,
        )?;
        tx.commit()
    }

    /// Record a contact; idempotent on its external id when it has one (a retry returns the
    /// first). A new one is audited (`interaction.record` on the customer, without its text).
    pub fn record_interaction(&self, i: &Interaction, actor: &Actor) -> Result<Recorded<Interaction>> {
        i.validate().map_err(StoreError::from)?;
        kesher_core::check_instant(i.occurred_at, self.now(), "occurred_at").map_err(StoreError::from)?;
        let mut tx = self.store.begin(Lock::Writes)?;
        let earlier = |tx: &mut dyn kesher_store::Tx| -> Result<Option<Recorded<Interaction>>> {
            Ok(match &i.external_id {
                Some(ext) => tx
                    .interaction_by_external(ext)?
                    .map(|value| Recorded { value, created: false }),
                None => None,
            })
        };
        if let Some(first) = earlier(tx.as_mut())? {
            return Ok(first);
        }
        if tx.customer(i.customer_id)?.is_none() {
            return Err(StoreError::invalid_coded(
                "interaction.customer.not_found",
                "customer_id",
                kesher_core::Params::new(),
                format!("no customer {}", i.customer_id),
            ));
        }
        if tx.insert_interaction_row(i)? != Inserted::New {
            // A concurrent call with the same external id committed first: return its result.
            return earlier(tx.as_mut())?
                .ok_or_else(|| StoreError::Backend(format!("interaction {:?} vanished", i.external_id)));
        }
        tx.append_audit(
            actor,
            "interaction.record",
            "customer",
            &i.customer_id.to_string(),
            None,
            Some(&interaction_audit_json(i)),
        )?;
        tx.commit()?;
        Ok(Recorded {
            value: i.clone(),
            created: true,
        })
    }
}
