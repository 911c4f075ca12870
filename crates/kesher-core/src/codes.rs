//! The catalogue of error codes: every code any kesher error carries, with the names of its
//! parameters and its English message pattern (`{name}` marks a parameter). A translated
//! interface translates from this list; docs/error-codes.md is printed from it
//! ([`catalogue_markdown`]), and a test fails when a code used in the sources is missing here.

/// One error code a person may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// Stable, dotted, lower_snake segments: `points.insufficient`.
    pub code: &'static str,
    /// The parameters the message names (a body may carry more context, never fewer).
    pub params: &'static [&'static str],
    /// The English message; `{name}` is a parameter.
    pub message: &'static str,
}

const fn c(code: &'static str, params: &'static [&'static str], message: &'static str) -> ErrorCode {
    ErrorCode { code, params, message }
}

/// Every code, grouped by where it is raised.
pub const CATALOGUE: &[ErrorCode] = &[
    // kesher-core: parsing and validating values.
    c(
        "value.unknown",
        &["value", "expected"],
        "invalid value {value}: expected one of {expected}",
    ),
    c("value.empty", &[], "must not be empty"),
    c(
        "value.too_long",
        &["value", "max"],
        "longer than {max} characters: {value}",
    ),
    c(
        "value.control_characters",
        &["value"],
        "contains control characters: {value}",
    ),
    c(
        "language.invalid",
        &["value"],
        "invalid language tag {value}: expected a code such as he, fa or en",
    ),
    c(
        "currency.invalid",
        &["value"],
        "invalid currency code {value}: expected three letters such as ILS",
    ),
    c(
        "currency.unknown",
        &["value"],
        "unknown currency code {value}: not an active ISO 4217 code",
    ),
    c(
        "currency.lower_case",
        &["value", "suggestion"],
        "currency code {value} must be upper case, as in {suggestion}",
    ),
    c("money.negative", &[], "must not be negative"),
    c(
        "money.too_large",
        &["value", "max"],
        "{value} minor units is more than the largest price accepted, {max}",
    ),
    c("money.amount.empty", &["value"], "invalid amount {value}: empty"),
    c(
        "money.amount.no_digits",
        &["value"],
        "invalid amount {value}: no digits",
    ),
    c(
        "money.amount.not_a_number",
        &["value"],
        "invalid amount {value}: not a decimal number",
    ),
    c(
        "money.amount.too_precise",
        &["value", "currency", "decimals"],
        "invalid amount {value}: {currency} allows at most {decimals} decimals",
    ),
    c(
        "money.amount.too_large",
        &["value"],
        "invalid amount {value}: too large",
    ),
    c("email.no_at", &["value"], "invalid e-mail address {value}: no @"),
    c(
        "email.empty_part",
        &["value"],
        "invalid e-mail address {value}: empty part before or after @",
    ),
    c(
        "email.many_at",
        &["value"],
        "invalid e-mail address {value}: more than one @",
    ),
    c(
        "email.separators",
        &["value"],
        "invalid e-mail address {value}: contains spaces or separators",
    ),
    c(
        "email.domain_without_dot",
        &["value"],
        "invalid e-mail address {value}: the domain needs a dot, as in example.com",
    ),
    c(
        "email.too_long",
        &["value"],
        "invalid e-mail address {value}: longer than 254 characters",
    ),
    c(
        "country.unknown",
        &["value", "known"],
        "unknown country {value}; known: {known}",
    ),
    c(
        "phone.unexpected_character",
        &["value", "character"],
        "invalid phone number {value}: unexpected character {character}",
    ),
    c("phone.no_digits", &["value"], "invalid phone number {value}: no digits"),
    c(
        "phone.international.length",
        &["value"],
        "invalid phone number {value}: an international number has 8 to 15 digits",
    ),
    c(
        "phone.country.unknown",
        &["value"],
        "invalid phone number {value}: unknown country",
    ),
    c(
        "phone.national.length",
        &["value", "country", "expected", "found"],
        "invalid phone number {value}: a {country} number has {expected} digits after the country code, found {found}",
    ),
    c(
        "phone.national.leading_zero",
        &["value"],
        "invalid phone number {value}: the number after the country code cannot start with 0",
    ),
    c("phone.not_e164", &["value"], "not an E.164 number: {value}"),
    c("line.quantity.zero", &[], "must not be zero"),
    c(
        "line.quantity.negative_on_sale",
        &["quantity"],
        "negative quantity {quantity} is only allowed on a refund (refund_of)",
    ),
    c(
        "line.quantity.positive_on_refund",
        &["quantity"],
        "a refund's quantities must be negative, found {quantity}",
    ),
    c("line.unit_price.negative", &[], "must not be negative"),
    c("line.discount.negative", &[], "must not be negative"),
    c(
        "line.quantity.amount_only",
        &[],
        "an amount-only line (no sku) must have quantity 1",
    ),
    c(
        "line.quantity.too_large",
        &["value", "max"],
        "quantity {value} is beyond the largest accepted, {max} units a line",
    ),
    c(
        "line.unit_price.too_large",
        &["value", "max"],
        "{value} minor units is more than the largest unit price accepted, {max}",
    ),
    c(
        "line.amount.too_large",
        &["value", "max"],
        "the line comes to {value} minor units, more than the largest line accepted, {max}",
    ),
    c(
        "line.currency.mismatch",
        &["sku", "currency", "product_currency"],
        "product {sku} is priced in {product_currency}, the sale is in {currency}",
    ),
    c("line.discount.too_large", &[], "larger than the line's price"),
    c("transaction.lines.empty", &[], "a transaction needs at least one line"),
    c("transaction.total.overflow", &[], "transaction total overflows"),
    c(
        "transaction.total.too_large",
        &["value", "max"],
        "the sale comes to {value} minor units, more than the largest sale accepted, {max}",
    ),
    c(
        "interaction.satisfaction.out_of_range",
        &["value"],
        "must be 1 to 5, found {value}",
    ),
    c(
        "interaction.satisfaction.invalid",
        &["value"],
        "must be a whole number from 1 to 5, found {value}",
    ),
    c(
        "interaction.status.not_a_complaint",
        &[],
        "only a complaint has a status",
    ),
    c(
        "time.invalid",
        &["value"],
        "invalid time {value}: expected RFC 3339 such as 2025-03-01T10:15:00Z or a date 2025-03-01",
    ),
    c("date.invalid", &["value"], "invalid date {value}: expected YYYY-MM-DD"),
    c(
        "time.out_of_window",
        &["value", "earliest", "ahead_hours"],
        "{value} is outside the accepted window: not before {earliest} and at most {ahead_hours} hours ahead of now",
    ),
    // kesher-loyalty: the points ledger's decisions.
    c(
        "points.insufficient",
        &["balance", "asked"],
        "the balance is {balance} points, {asked} were asked for",
    ),
    c(
        "points.entry_kind.unknown",
        &["value"],
        "unknown ledger entry kind {value}",
    ),
    // kesher-loyalty: the program.
    c("loyalty.program.invalid", &["key", "reason"], "{key}: {reason}"),
    c(
        "loyalty.join.invitation_required",
        &[],
        "the program is by invitation only: name the member who invited",
    ),
    c(
        "loyalty.join.fee_unpaid",
        &["fee", "paid"],
        "the enrolment fee is {fee} minor units; {paid} were paid",
    ),
    c(
        "loyalty.join.min_spend",
        &["required", "actual", "days"],
        "joining needs a spend of {required} minor units in {days} days; the customer spent {actual}",
    ),
    c(
        "loyalty.join.min_visits",
        &["required", "actual", "days"],
        "joining needs {required} visits in {days} days; the customer made {actual}",
    ),
    c(
        "loyalty.join.min_tenure",
        &["required", "actual"],
        "joining needs {required} days as a customer; this one has {actual}",
    ),
    c(
        "loyalty.program.missing",
        &[],
        "no loyalty program is set: set one first",
    ),
    c(
        "loyalty.benefit.unknown",
        &["benefit"],
        "the program's catalogue has no benefit {benefit}",
    ),
    c(
        "loyalty.benefit.key_reused",
        &["benefit", "source"],
        "the key was used for another request ({source} of {benefit})",
    ),
    c(
        "loyalty.benefit.not_redeemable",
        &["benefit"],
        "{benefit} cannot be redeemed for points",
    ),
    c(
        "loyalty.benefit.not_available",
        &["state"],
        "the benefit is {state} and cannot be honoured",
    ),
    c("loyalty.surprise.budget", &["reason"], "{reason}"),
    c(
        "loyalty.surprise.no_value",
        &["benefit"],
        "{benefit} has no money or points value to count a budget in",
    ),
    c(
        "loyalty.surprise.no_repeat_days",
        &["max"],
        "must be from 0 to {max} days",
    ),
    c("loyalty.surprise.pool", &[], "give either segment or random"),
    c("loyalty.surprise.random", &["max"], "from 1 to {max} members"),
    c("loyalty.member.already", &[], "the customer is already a member"),
    c("loyalty.member.not_member", &[], "the customer is not a member"),
    // kesher-campaign: the definition, SMS length, templates, the statistics.
    c("campaign.definition.invalid", &["key", "reason"], "{key}: {reason}"),
    c(
        "campaign.sms.too_long",
        &["segments", "units", "encoding", "max"],
        "the text needs {segments} segments ({units} {encoding} units); at most {max} are allowed",
    ),
    c("campaign.template.syntax", &["key", "reason"], "{key}: {reason}"),
    c(
        "campaign.template.variable",
        &["key", "variable", "known"],
        "{key}: the data has no variable {variable}; it provides {known}",
    ),
    c("campaign.stats.empty", &[], "the group is empty: nothing to measure"),
    c("campaign.stats.invalid", &["reason"], "{reason}"),
    c(
        "campaign.state",
        &["state", "wanted"],
        "the campaign is {state}; it must be {wanted}",
    ),
    c("campaign.template.render", &["key", "reason"], "{key}: {reason}"),
    c(
        "campaign.unsubscribe.invalid",
        &[],
        "this unsubscribe link is not valid",
    ),
    c("campaign.click.invalid", &[], "this link is not valid"),
    c("campaign.smtp.invalid", &["reason"], "{reason}"),
    c("campaign.sms.webhook", &["reason"], "{reason}"),
    c(
        "campaign.sms.reply.key",
        &[],
        "the SMS replies' key is missing or wrong",
    ),
    c(
        "campaign.offer.unknown",
        &["benefit"],
        "offer: the loyalty program has no benefit {benefit}",
    ),
    c("campaign.costs.invalid", &["key", "reason"], "{key}: {reason}"),
    c(
        "campaign.costs.missing",
        &[],
        "the campaigns' prices are not set (kesher campaigns costs, PUT /api/campaigns/costs)",
    ),
    c(
        "campaign.plan.parameter",
        &["value", "expected"],
        "invalid value {value}: expected {expected}",
    ),
    // kesher-loyalty: designing a program from the business's data.
    c(
        "loyalty.design.parameter",
        &["value", "expected"],
        "invalid value {value}: expected {expected}",
    ),
    c(
        "loyalty.design.no_sales",
        &["currency"],
        "no sales of identified customers in {currency}: there is nothing to design a program from",
    ),
    c(
        "loyalty.report.window.reversed",
        &["from", "to"],
        "from ({from}) is after to ({to})",
    ),
    c(
        "loyalty.report.window.too_long",
        &["max"],
        "the window is longer than {max} days",
    ),
    c(
        "loyalty.report.months.out_of_range",
        &["max"],
        "months must be 1 to {max}",
    ),
    c("points.rule.points.negative", &[], "must not be negative"),
    c("points.rule.per_minor.too_small", &[], "must be at least 1"),
    c(
        "points.rule.points.too_large",
        &["value", "max"],
        "{value} points a unit is more than the largest rate accepted, {max}",
    ),
    c(
        "points.rule.per_minor.too_large",
        &["value", "max"],
        "a unit of {value} minor units is more than the largest accepted, {max}",
    ),
    c(
        "points.earn.too_large",
        &["max"],
        "the sale would earn more than {max} points, the largest balance",
    ),
    c(
        "points.balance.too_large",
        &["balance", "points", "max"],
        "{points} more points would take the balance of {balance} beyond the largest, {max}",
    ),
    c(
        "points.too_large",
        &["value", "max"],
        "{value} points is more than one entry may move, {max}",
    ),
    c("points.balance.overflow", &[], "the balance would overflow"),
    c("points.reversal.out_of_range", &[], "reversal out of range"),
    c("points.not_positive", &[], "must be a positive number of points"),
    c("points.zero", &[], "must not be zero"),
    c("points.reason.missing", &[], "a reason is required"),
    c("points.reason.too_long", &["max"], "at most {max} characters"),
    c("idempotency_key.empty", &[], "must not be empty"),
    c(
        "idempotency_key.invalid",
        &["max"],
        "1 to {max} visible ASCII characters",
    ),
    // kesher-store: what a store refuses.
    c("conflict", &[], "the change conflicts with existing data"),
    c("invalid", &[], "the value is not valid"),
    c(
        "internal",
        &[],
        "something went wrong on the server; it has been logged",
    ),
    c("not_found", &[], "not found"),
    c("customer.not_found", &[], "customer not found"),
    c("user.not_found", &[], "user not found"),
    c("token.not_found", &["key"], "token not found: {key}"),
    c(
        "idempotency_key.missing",
        &[],
        "required: send the Idempotency-Key header or an idempotency_key field",
    ),
    c(
        "idempotency_key.reused",
        &["kind", "points"],
        "the key was used for another request ({kind} of {points} points)",
    ),
    c(
        "user.username.taken",
        &["username"],
        "the user name {username} is taken",
    ),
    c("reference.not_found", &[], "a record this one refers to does not exist"),
    c("value.nul_character", &[], "contains a NUL character"),
    c(
        "customer.phone.taken",
        &["value", "owner"],
        "{value} already belongs to customer {owner}",
    ),
    c(
        "customer.email.taken",
        &["value", "owner"],
        "{value} already belongs to customer {owner}",
    ),
    c(
        "customer.card.taken",
        &["value", "owner"],
        "{value} already belongs to customer {owner}",
    ),
    c(
        "customer.member_no.taken",
        &["value"],
        "member number {value} already belongs to another customer",
    ),
    c(
        "customer.identifier.taken",
        &["value", "owner"],
        "{value} already belongs to customer {owner}",
    ),
    c(
        "customer.member_no.batch_taken",
        &[],
        "a member number of the batch exists already",
    ),
    c("customer.parent.self", &[], "a customer cannot be its own parent"),
    c("customer.parent.not_found", &[], "no such customer"),
    c(
        "customer.delete.has_transactions",
        &["count"],
        "customer has {count} transactions; merge or anonymise instead of deleting",
    ),
    c(
        "customer.delete.has_points",
        &["count"],
        "customer has {count} points entries; merge or anonymise instead of deleting",
    ),
    c(
        "customer.delete.is_member",
        &["count"],
        "customer is named by {count} loyalty memberships (their own or of members they invited); merge or anonymise instead of deleting",
    ),
    c(
        "customer.delete.has_children",
        &["count"],
        "customer is the parent account of {count} customers",
    ),
    c("customer.merge.self", &[], "cannot merge a customer into itself"),
    c(
        "customer.merge.kept_is_child",
        &[],
        "the kept customer is attached to the dropped one as its parent",
    ),
    c("transaction.customer.not_found", &[], "no such customer"),
    c("transaction.branch.not_found", &["branch"], "no branch {branch}"),
    c("transaction.employee.not_found", &[], "no such employee"),
    c(
        "transaction.refund_of.not_found",
        &["transaction"],
        "no transaction {transaction}",
    ),
    c("transaction.product.not_found", &["product"], "no product {product}"),
    c("interaction.customer.not_found", &[], "no such customer"),
    c("job.max_attempts.zero", &[], "at least one attempt"),
    c(
        "job.lease.lost",
        &["job", "worker"],
        "job {job} is no longer held by worker {worker} (its lease expired and was taken over, or it ended)",
    ),
    c(
        "job.cancel.not_scheduled",
        &["job", "state"],
        "job {job} is {state}: only a scheduled job can be cancelled",
    ),
    c(
        "job.taken",
        &["job"],
        "job {job} was taken by another worker before this one",
    ),
    c(
        "job.state.unknown",
        &[],
        "one of scheduled, running, done, failed, cancelled",
    ),
    c("job.value.too_large", &["value"], "{value} is too large"),
    c(
        "job.kind.unknown",
        &["kind", "known"],
        "unknown job kind {kind} (known: {known})",
    ),
    c("job.args.invalid", &["reason"], "{reason}"),
    c(
        "job.schedule.cron_invalid",
        &["schedule", "reason"],
        "schedule {schedule}: {reason}",
    ),
    c(
        "analyze.observation_end.out_of_range",
        &["value"],
        "instant {value} out of range",
    ),
    c(
        "analyze.calibration_end.after_end",
        &[],
        "must not be after the observation end",
    ),
    // kesher-auth and kesher-app's accounts.
    c(
        "password.too_short",
        &["min"],
        "the password must be at least {min} characters long",
    ),
    c(
        "password.too_long",
        &["max"],
        "the password must be at most {max} characters long",
    ),
    c("user.username.length", &[], "must be 1 to 64 characters"),
    c(
        "user.username.characters",
        &[],
        "may hold letters, digits and . _ - @ only",
    ),
    c("branch.unknown", &["branch"], "unknown branch {branch}"),
    c(
        "user.branch.missing",
        &["role"],
        "a {role} works at one branch: give its id",
    ),
    c("user.last_admin", &[], "this is the last active admin"),
    c("token.name.length", &[], "must be 1 to 100 characters"),
    c(
        "token.scope.not_granted",
        &["role", "scope"],
        "the role {role} may not {scope}",
    ),
    c(
        "token.name.ambiguous",
        &["count", "name"],
        "{count} live tokens are named {name}: give the id",
    ),
    c(
        "privacy.retention.out_of_range",
        &["max"],
        "must be 1 to {max} (or empty to keep customers forever)",
    ),
    c("auth.wrong_credentials", &[], "wrong user name or password"),
    c("auth.disabled", &[], "this account is disabled"),
    // kesher-app's CSV import: `line` (and `column` when one is named) are added to every row's
    // parameters.
    c("import.file.empty", &[], "the file is empty (expected a header row)"),
    c("import.csv.malformed", &[], "the CSV could not be read"),
    c(
        "import.header.delimiter",
        &["delimiter"],
        "the header has a single column; the file seems to use {delimiter} as delimiter, expected ','",
    ),
    c("import.column.repeated", &["name"], "column {name} appears twice"),
    c(
        "import.column.unknown",
        &["name", "known"],
        "unknown column {name}; the columns are: {known}",
    ),
    c("import.column.missing", &["name"], "missing column {name}"),
    c("import.value.required", &[], "required, found an empty value"),
    c(
        "import.utf8.invalid",
        &["byte", "position"],
        "invalid UTF-8 (byte {byte} at position {position}); save the file as UTF-8",
    ),
    c(
        "import.row.field_count",
        &["expected", "found"],
        "expected {expected} fields, found {found}",
    ),
    c(
        "import.quantity.invalid",
        &["value"],
        "must be a whole number, found {value}",
    ),
    c(
        "import.id.duplicate",
        &[],
        "duplicate id: it appears more than once in this file",
    ),
    c(
        "import.parent.unknown",
        &["value"],
        "unknown customer {value} (a parent must come first)",
    ),
    c(
        "import.branch.unknown",
        &["value"],
        "unknown branch {value} (import branches first, or use --create-missing)",
    ),
    c(
        "import.employee.unknown",
        &["value"],
        "unknown employee {value} (import employees first, or use --create-missing)",
    ),
    c(
        "import.customer.unknown",
        &["value"],
        "unknown customer {value} (import customers first, or use --create-missing)",
    ),
    c(
        "import.transaction.differs",
        &["first_line", "transaction"],
        "differs from line {first_line} of the same transaction {transaction}",
    ),
    c(
        "import.transaction.rejected_with",
        &["bad_line", "transaction"],
        "rejected with line {bad_line} of the same transaction {transaction}",
    ),
    c(
        "import.transaction.repeated",
        &["transaction"],
        "duplicate transaction {transaction}: its rows must be consecutive and it appears again here",
    ),
    c("import.refund_of.unknown", &["value"], "unknown transaction {value}"),
    c("import.product.unknown", &["value"], "unknown product {value}"),
    c(
        "customer.household_size.invalid",
        &["value"],
        "must be a positive whole number, found {value}",
    ),
    c(
        "customer.attributes.not_an_object",
        &[],
        "must be a JSON object such as {\"lifestyle\":\"runner\"}",
    ),
    c(
        "customer.attributes.invalid_json",
        &["detail"],
        "invalid JSON: {detail}",
    ),
    c(
        "branch.time_zone.unknown",
        &["value"],
        "unknown time zone {value}: expected an IANA name such as Asia/Jerusalem",
    ),
    c("product.list_price.negative", &[], "must not be negative"),
    c("product.unit_cost.negative", &[], "must not be negative"),
    // kesher-segment: the segment language; `column` is added to every error's parameters.
    c(
        "segment.syntax.bang",
        &[],
        "`!` must be followed by `=`; write `not` to negate",
    ),
    c(
        "segment.syntax.unterminated_name",
        &[],
        "unterminated `quoted field name`",
    ),
    c(
        "segment.syntax.bad_date",
        &["value"],
        "`{value}` is not a date (write YYYY-MM-DD)",
    ),
    c("segment.syntax.bad_number", &["value"], "`{value}` is not a number"),
    c("segment.syntax.number_too_large", &["value"], "`{value}` is too large"),
    c(
        "segment.syntax.unexpected_character",
        &["character"],
        "unexpected character `{character}`",
    ),
    c(
        "segment.syntax.unterminated_text",
        &[],
        "unterminated text: a closing quote is missing",
    ),
    c(
        "segment.syntax.unknown_escape",
        &["escape"],
        "unknown escape `\\{escape}`",
    ),
    c(
        "segment.too_long",
        &["max"],
        "the expression is longer than {max} characters",
    ),
    c("segment.empty", &[], "the expression is empty"),
    c("segment.syntax.unmatched_paren", &[], "`)` without a matching `(`"),
    c(
        "segment.syntax.unexpected_token",
        &["expected", "found"],
        "expected {expected}, found {found}",
    ),
    c(
        "segment.too_deep",
        &["max"],
        "the expression nests deeper than {max} levels",
    ),
    c(
        "segment.syntax.unclosed_paren",
        &["open", "found"],
        "expected `)` to close the `(` at column {open}, found {found}",
    ),
    c(
        "segment.syntax.expected_field",
        &["found"],
        "expected a field name, found {found}",
    ),
    c(
        "segment.syntax.keyword_as_field",
        &["name"],
        "expected a field name, found the keyword `{name}`",
    ),
    c(
        "segment.field.unknown",
        &["name"],
        "unknown field `{name}`; see the field list in docs/segments.md",
    ),
    c(
        "segment.syntax.expected_number",
        &["found"],
        "expected a number after `-`, found {found}",
    ),
    c(
        "segment.syntax.expected_value",
        &["found"],
        "expected a value (number, \"text\", date or true/false), found {found}",
    ),
    c(
        "segment.syntax.expected_text",
        &["found"],
        "expected a \"text\", found {found}",
    ),
    c(
        "segment.syntax.expected_between_and",
        &["found"],
        "expected `and` in `between … and …`, found {found}",
    ),
    c(
        "segment.between.order",
        &["low", "high"],
        "`between {low} and {high}`: the low end must come first and both be of one kind",
    ),
    c(
        "segment.type.has_needs_set",
        &["field", "type"],
        "`has` works on sets (categories, products, branches); `{field}` is {type}",
    ),
    c(
        "segment.syntax.expected_has_value",
        &["found"],
        "expected a \"text\", `any (…)` or `all (…)` after `has`, found {found}",
    ),
    c(
        "segment.syntax.expected_set",
        &["found"],
        "expected `set` after `is`, found {found}",
    ),
    c(
        "segment.type.needs_comparison",
        &["field", "type", "found"],
        "`{field}` is {type}: compare it (=, !=, <, >, in, between, ...), found {found}",
    ),
    c(
        "segment.type.personal_identifier",
        &["field"],
        "`{field}` is a personal identifier: only `{field} is set` or `{field} is not set` may be asked",
    ),
    c(
        "segment.type.set_needs_has",
        &["field"],
        "`{field}` is a set: use `{field} has \"…\"`, `has any (…)` or `has all (…)`",
    ),
    c(
        "segment.type.contains_needs_text",
        &["field", "type"],
        "`~` (contains) needs a text field and a \"text\"; `{field}` is {type}",
    ),
    c(
        "segment.type.bool_ordered",
        &["operator"],
        "true/false cannot be ordered with `{operator}`",
    ),
    c(
        "segment.type.mismatch",
        &["field", "type", "value", "shown"],
        "`{field}` is {type}, but {value} is {shown}",
    ),
    // kesher-app's segments, baskets and analysis.
    c("segment.not_found", &["name"], "no segment named `{name}`"),
    c(
        "segment.name.invalid",
        &["name"],
        "`{name}` is not a segment name: use 1-64 letters, digits, `-` or `_`",
    ),
    c("segment.template.invalid", &["detail"], "template: {detail}"),
    c(
        "segment.template.too_long",
        &["limit"],
        "a message would be longer than {limit} bytes",
    ),
    c(
        "segment.template.too_much_work",
        &["limit"],
        "the template takes too much work (more than {limit} steps for one message): loop over less",
    ),
    c(
        "segment.template.unknown_variable",
        &["name", "known"],
        "unknown variable `{name}`; a template may use {known}",
    ),
    c("baskets.input.unreadable", &["line", "reason"], "line {line}: {reason}"),
    c(
        "baskets.input.column",
        &["line", "column", "reason"],
        "line {line}: column {column}: {reason}",
    ),
    c(
        "baskets.input.read",
        &["line", "reason"],
        "line {line}: read error: {reason}",
    ),
    c(
        "baskets.parameter.invalid",
        &["name", "reason"],
        "parameter {name}: {reason}",
    ),
    c(
        "analytics.input.invalid",
        &["line", "column", "field", "reason"],
        "line {line}, column {column} ({field}): {reason}",
    ),
    c("analytics.input.missing_column", &["column"], "missing column {column}"),
    c(
        "analytics.argument.invalid",
        &["name", "reason"],
        "invalid argument {name}: {reason}",
    ),
    c(
        "analytics.input.unsorted",
        &["position"],
        "transactions not sorted by customer at position {position}",
    ),
    c("analytics.no_data", &[], "no data"),
    c(
        "analytics.model.not_identifiable",
        &["reason"],
        "these data cannot determine the model: {reason}",
    ),
    c(
        "analytics.model.did_not_converge",
        &["iterations", "gradient_norm"],
        "optimiser did not converge after {iterations} iterations (gradient norm {gradient_norm})",
    ),
    c(
        "analytics.model.budget_exhausted",
        &["iterations"],
        "fit budget exhausted after {iterations} iterations",
    ),
    c("analytics.numerical", &["what"], "numerical failure in {what}"),
    c(
        "analyze.no_sales",
        &["as_of"],
        "no sales by identified customers up to {as_of}: nothing to analyse",
    ),
    // kesher-http: requests, access and the API's own checks.
    c("bad_request", &[], "the request is not valid"),
    c("json.syntax", &[], "the body is not valid JSON"),
    c(
        "json.content_type",
        &[],
        "expected a body with Content-Type: application/json",
    ),
    c("json.field.missing", &[], "a required field is missing"),
    c("json.field.unknown", &[], "unknown field"),
    c(
        "json.field.invalid",
        &[],
        "the field's value has the wrong type or is out of range",
    ),
    c(
        "body.too_large",
        &["limit"],
        "the body is larger than the limit of {limit} bytes",
    ),
    c("body.unreadable", &[], "the body could not be read"),
    c("query.parameter.missing", &[], "a required query parameter is missing"),
    c("query.parameter.unknown", &[], "unknown query parameter"),
    c(
        "query.parameter.invalid",
        &[],
        "the query parameter's value is not valid",
    ),
    c("query.limit.out_of_range", &["max"], "limit must be 1 to {max}"),
    c("query.period.incomplete", &[], "give both from and to"),
    c("route.not_found", &["path"], "no route {path}"),
    c("form.invalid", &["detail"], "the form is not valid: {detail}"),
    c(
        "form.date.invalid",
        &["field", "value"],
        "{field}: {value} is not a date (YYYY-MM-DD)",
    ),
    c(
        "form.number.invalid",
        &["field", "value"],
        "{field}: {value} is not a whole number",
    ),
    c("ui.language.unknown", &[], "choose en, he or fa"),
    c(
        "route.method_not_allowed",
        &["path", "method", "allow"],
        "{path} does not answer {method}; it answers {allow}",
    ),
    c("path.too_long", &["max"], "the path is longer than {max} bytes"),
    c("json.body.not_object", &[], "the body must be a JSON object"),
    c(
        "customer.put.field_missing",
        &["field"],
        "PUT replaces the whole customer: send {field} (null clears it), or use PATCH to change only some fields",
    ),
    c(
        "customer.consent.cleared",
        &["channel"],
        "the {channel} consent cannot be cleared: set it to withdrawn",
    ),
    c("text.too_long", &["max"], "the text is longer than {max} characters"),
    c("json.too_deep", &["max"], "nested deeper than {max} levels"),
    c(
        "attributes.too_large",
        &["max"],
        "attributes are larger than {max} bytes",
    ),
    c("json.key.too_long", &["max"], "a key is longer than {max} characters"),
    c(
        "query.parameter.name_too_long",
        &["max"],
        "a parameter name is longer than {max} characters",
    ),
    c("path.not_utf8", &[], "the path is not valid UTF-8 once percent-decoded"),
    c(
        "customers.search.anonymised",
        &[],
        "an anonymised view cannot be searched by name or identifier; list without q",
    ),
    c(
        "json.merge_patch.content_type",
        &[],
        "expected a body with Content-Type: application/merge-patch+json or application/json",
    ),
    c(
        "transaction.external_id.reused",
        &["external_id", "differs"],
        "external_id {external_id} was recorded for another sale (its {differs} differs); a retry must repeat the first request",
    ),
    c(
        "route.unlisted",
        &["method", "path"],
        "{method} {path} has no entry in the permission table",
    ),
    c(
        "auth.unauthenticated",
        &[],
        "sign in (POST /api/auth/login) or send an API token as Authorization: Bearer ksr_…",
    ),
    c(
        "auth.forbidden.role",
        &["role", "action"],
        "the role {role} may not {action}",
    ),
    c(
        "auth.forbidden.scope",
        &["action"],
        "this token's scopes do not include {action}",
    ),
    c(
        "auth.out_of_branch",
        &["action"],
        "{action} is limited to your own branch",
    ),
    c(
        "auth.out_of_branch.customer_required",
        &["action"],
        "{action} is limited to your own branch: give a customer_id of your branch",
    ),
    c(
        "auth.csrf",
        &["header"],
        "a signed-in browser must send its CSRF token in the {header} header",
    ),
    c(
        "rate_limited",
        &["retry_after"],
        "too many requests; try again in {retry_after} s",
    ),
    c("id.invalid", &["value"], "not a valid id: {value}"),
    c(
        "external_id.taken",
        &[],
        "a record with this external id already exists",
    ),
    c("product.sku.taken", &["sku"], "sku {sku} exists"),
    c("product.not_found", &["sku"], "product not found: {sku}"),
    c("product.unknown", &["sku"], "unknown product {sku}"),
    c("employee.unknown", &["employee"], "unknown employee {employee}"),
    c("member.unknown", &["value"], "unknown member {value}"),
    c("transaction.unknown", &["value"], "unknown transaction {value}"),
    c("transaction.not_found", &[], "transaction not found"),
    c(
        "transaction.customer.ambiguous",
        &[],
        "give customer_id or member_no, not both",
    ),
    c("customer.unknown", &[], "no such customer"),
    c("customer.merged", &["kept"], "customer was merged into {kept}"),
    c("customer.household_size.too_small", &[], "must be at least 1"),
    c(
        "customer.lookup.one_identifier",
        &[],
        "give exactly one of phone, email, member, card",
    ),
    c("customer.lookup.not_found", &["kind"], "no customer with this {kind}"),
    c("duplicates.min_score.out_of_range", &[], "min_score must be 0 to 1"),
    c("offers.k.out_of_range", &["max"], "k must be 1 to {max}"),
    c(
        "import.kind.unknown",
        &["kind"],
        "unknown import kind {kind}: branches, employees, products, customers, transactions, interactions",
    ),
    c("role.unknown", &["value"], "unknown role {value}"),
    c(
        "user.role.pos_device",
        &[],
        "point-of-sale devices get API tokens, not user accounts",
    ),
    c("token.scope.unknown", &["value"], "unknown scope {value}"),
    c(
        "idempotency_key.not_text",
        &[],
        "the Idempotency-Key header is not text",
    ),
    c(
        "idempotency_key.differs",
        &[],
        "the Idempotency-Key header and the idempotency_key field differ",
    ),
    c(
        "points.rule.currency.repeated",
        &["currency"],
        "{currency} is listed twice",
    ),
    c("segment.missing", &[], "give a segment name or an expression"),
    c("baskets.level.unknown", &[], "level must be product or category"),
    c(
        "baskets.report.every_branch",
        &[],
        "this report covers every branch; use /api/baskets/cross-sell for one",
    ),
    c("analyze.margin.out_of_range", &[], "must be 0 to 1"),
    c(
        "analysis.customer.missing",
        &[],
        "no analysis for this customer; run kesher analyze",
    ),
    c("analysis.missing", &[], "no analysis yet; run kesher analyze"),
    c("analytics.period.unknown", &[], "must be week or day"),
    c("analytics.model.unknown", &[], "must be bgnbd, pareto-nbd or mbgnbd"),
];

/// The catalogue entry of `code`.
pub fn lookup(code: &str) -> Option<&'static ErrorCode> {
    CATALOGUE.iter().find(|c| c.code == code)
}

/// Whether `code` is well formed: dot-separated segments of lower-case letters, digits and `_`.
pub fn well_formed(code: &str) -> bool {
    !code.is_empty()
        && code.split('.').all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_lowercase())
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// The catalogue as a Markdown table (docs/error-codes.md embeds it; a test keeps them equal).
pub fn catalogue_markdown() -> String {
    let mut out = String::from("| code | params | English message |\n|---|---|---|\n");
    for entry in CATALOGUE {
        let params: Vec<String> = entry.params.iter().map(|p| format!("`{p}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            entry.code,
            params.join(", "),
            entry.message.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests;
