//! The checks a unit of work makes before a write, written once over the look-ups each backend
//! answers ([`Lookups`]): a sale's references exist, a customer's identifiers are free.

use crate::{Result, StoreError, identifier_taken};
use kesher_core::{Customer, CustomerId, Transaction};

/// One query each, in the backend's dialect.
pub trait Lookups {
    /// Whether `table` has a row whose `id` is `id`.
    fn exists(&mut self, table: &'static str, id: [u8; 16]) -> Result<bool>;
    /// The customer holding an identifier (`member`, `phone`, `email`, `card`), directly or as
    /// an alias left by a merge.
    fn identifier_owner(&mut self, kind: &str, value: &str) -> Result<Option<CustomerId>>;
    fn member_no(&mut self, id: CustomerId) -> Result<Option<String>>;
}

/// Every id a transaction references must exist (an API caller gets a 4xx, not a 500).
pub fn transaction_refs(l: &mut impl Lookups, t: &Transaction) -> Result<()> {
    let missing_coded = |code, field, params, reason| Err(StoreError::invalid_coded(code, field, params, reason));
    if let Some(cid) = t.customer_id
        && !l.exists("customers", cid.0.into_bytes())?
    {
        return missing_coded(
            "transaction.customer.not_found",
            "customer_id",
            kesher_core::Params::new(),
            format!("no customer {cid}"),
        );
    }
    if !l.exists("branches", t.branch_id.0.into_bytes())? {
        return missing_coded(
            "transaction.branch.not_found",
            "branch_id",
            kesher_core::params!(branch = t.branch_id.to_string()),
            format!("no branch {}", t.branch_id),
        );
    }
    if let Some(e) = t.employee_id
        && !l.exists("employees", e.0.into_bytes())?
    {
        return missing_coded(
            "transaction.employee.not_found",
            "employee_id",
            kesher_core::Params::new(),
            format!("no employee {e}"),
        );
    }
    if let Some(r) = t.refund_of
        && !l.exists("transactions", r.0.into_bytes())?
    {
        return missing_coded(
            "transaction.refund_of.not_found",
            "refund_of",
            kesher_core::params!(transaction = r.to_string()),
            format!("no transaction {r}"),
        );
    }
    for p in t.lines.iter().filter_map(|l| l.product_id) {
        if !l.exists("products", p.0.into_bytes())? {
            return missing_coded(
                "transaction.product.not_found",
                "sku",
                kesher_core::params!(product = p.to_string()),
                format!("no product {p}"),
            );
        }
    }
    Ok(())
}

/// Each of the customer's identifiers must be free or already theirs.
pub fn identifiers_free(l: &mut impl Lookups, cust: &Customer) -> Result<()> {
    let checks: [(&'static str, &'static str, Option<&str>); 4] = [
        ("member_no", "member", cust.member_no.as_deref()),
        ("phone", "phone", cust.phone.as_ref().map(|p| p.as_str())),
        ("email", "email", cust.email.as_ref().map(|e| e.as_str())),
        ("card", "card", cust.card.as_deref()),
    ];
    for (field, kind, value) in checks {
        if let Some(v) = value
            && let Some(owner) = l.identifier_owner(kind, v)?
            && owner != cust.id
        {
            let who = l.member_no(owner)?;
            return Err(identifier_taken(field, v, &who.unwrap_or_else(|| owner.to_string())));
        }
    }
    Ok(())
}
