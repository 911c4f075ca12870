# kesher's interface in English. Every message here must also be in he.ftl and fa.ftl (a test
# checks). Error messages are named err-<code>, the code's dots and underscores as dashes.
nav-main = Main menu
nav-dashboard = Dashboard
nav-customers = Customers
nav-segments = Segments
language = Language
apply = Apply
signed-in-as = { $name } ({ $role })
role-admin = administrator
role-marketing_manager = marketing manager
role-branch_manager = branch manager
role-clerk = front desk
role-analyst = analyst
role-till = till
sign-in = Sign in
sign-out = Sign out
user-name = User name
password = Password
error-title = Error { $status }
error-generic = Something went wrong.
back-home = Back to the dashboard
save = Save
add = Add
customer = Customer
flash-saved = Saved.
flash-contact-added = The contact was recorded.
flash-analyzed = The analysis was refreshed: { $buyers } buyers scored.
flash-segment-saved = Segment { $name } saved.

dash-empty-title = No analysis yet
dash-empty-body = { $customers } customers and { $transactions } transactions are waiting. Run the analysis to see the lifecycle ladder, customer value and cohorts here.
dash-run = Refresh the analysis
dash-figures = Key figures
dash-customers = Customers
dash-buyers = Buyers
dash-top20 = Value held by the best 20 %
dash-as-of = Analysed on
show-numbers = Show the numbers
dash-ladder = Customers on each rung of the ladder
dash-revenue = Revenue by stage
dash-flows = Moves between rungs since last month
dash-pareto = Value Pareto curve
dash-pareto-point = The best { $customers } of customers hold { $value } of the value
dash-clv = Customer lifetime value distribution
dash-cohorts = Monthly cohorts: share still buying
dash-cohort-cell = Cohort { $cohort }, { $months ->
    [one] { $months } month later
   *[other] { $months } months later
}: { $share }
dash-tiers = Value tiers: share of value

col-stage = Stage
col-customers = Customers
col-revenue = Revenue
col-margin = Margin
col-customers-share = Share of customers
col-value-share = Share of value
col-clv-from = CLV
col-cohort = Cohort
col-month-1 = After 1 month
col-month-3 = After 3 months
col-tier = Tier
col-member = Member no.
col-name = Name
col-phone = Phone
col-email = E-mail
col-card = Card
col-city = City
col-birth-date = Birth date
col-since = Customer since
col-rfm = RFM
col-p-alive = P(alive)
col-expected = Expected purchases
col-clv = CLV
col-purchases = Purchases
col-spend = Spend
col-last-purchase = Last purchase
col-channel = Channel
col-kind = Kind
col-satisfaction = Satisfaction
col-text = Note
col-field = Field
col-type = Type

stage-prospect = Prospect
stage-first-time = First-time
stage-core = Core
stage-at-risk = At risk
stage-defected = Defected
stage-new = New

tier-top = Top
tier-middle = Middle
tier-rest = Rest

rfm-champions = champions
rfm-loyal = loyal
rfm-potential-loyalist = potential loyalist
rfm-new = new
rfm-promising = promising
rfm-need-attention = need attention
rfm-about-to-sleep = about to sleep
rfm-at-risk = at risk
rfm-can-t-lose-them = can't lose them
rfm-hibernating = hibernating
rfm-lost = lost

search = Search
search-placeholder = Name, phone, e-mail, member or card number
results = { $count ->
    [0] No customer found
    [one] One customer found
   *[other] { $count } customers found
}
results-capped = More than { $count } customers found; the first { $shown } are shown: type more to narrow the search

cust-identity = Identity and consents
cust-consents = Consents
cust-no-consents = No consent recorded
cust-value = Value and stage
cust-no-score = Not analysed yet.
cust-wallet = Wallet
points-balance = { $points ->
    [one] { $points } point
   *[other] { $points } points
}
cust-offers = Next best offers
cust-offers-pending = The offer rules are still being mined after the server started: reload in a minute
offer-because = because of { $items }
cust-edit = Edit
cust-edit-note = Only the fields shown are changed; everything else stays as it is.
cust-add-contact = Add a contact
cust-timeline = Timeline
cust-no-history = Nothing yet
cust-timeline-more = The latest { $sales } of { $sales_total } purchases and refunds and { $contacts } of { $contacts_total } contacts are shown; all of them:
cust-timeline-sales = purchases
cust-timeline-contacts = contacts
tl-sale = Purchase of { $amount } ({ $lines ->
    [one] { $lines } item
   *[other] { $lines } items
})
tl-refund = Refund of { $amount }
satisfaction = satisfaction { $n }/5

channel-store = in store
channel-phone = phone
channel-email = e-mail
channel-sms = SMS
channel-web = web
channel-social = social media
consent-granted = granted
consent-withdrawn = withdrawn
kind-note = Note
kind-visit = Visit
kind-call = Call
kind-inquiry = Inquiry
kind-complaint = Complaint
kind-compliment = Compliment
kind-click = Link clicked

seg-editor = Segment editor
seg-name = Name
seg-expression = Expression
seg-count = { $count ->
    [0] No customer matches
    [one] One customer matches
   *[other] { $count } customers match
}
seg-estimate = About { $count } customers match (95 % between { $low } and { $high }: an estimate on a sample; Check counts exactly)
seg-check = Check
seg-save = Save
seg-fields = Fields you can use
seg-sample = Some members
seg-saved = Saved segments
seg-export = Members as CSV
seg-none = No segment saved yet.

err-auth-wrong-credentials = Wrong user name or password.
err-auth-disabled = This account is disabled.
err-rate-limited = Too many attempts; wait { $retry_after } seconds and try again.
err-email-no-at = { $value } is not an e-mail address: it has no @.
err-email-domain-without-dot = { $value } is not an e-mail address: the domain needs a dot, as in example.com.
err-phone-no-digits = { $value } is not a phone number: it has no digits.
err-phone-unexpected-character = { $value } is not a phone number: unexpected character { $character }.
err-phone-national-length = { $value } is not a phone number: a { $country } number has { $expected } digits after the country code, not { $found }.
err-segment-empty = The expression is empty.
err-segment-field-unknown = There is no field named { $name }.
err-segment-syntax-unexpected-token = Expected { $expected }, found { $found }.
err-segment-syntax-expected-value = Expected a value (a number, "text", a date or true/false), found { $found }.
err-segment-name-invalid = { $name } is not a segment name: use 1-64 letters, digits, - or _.
err-customer-not-found = No such customer.
err-analysis-missing = No analysis yet.
err-auth-forbidden-role = Your role may not do this.
err-auth-csrf = This form has expired; load the page again and resend it.
err-auth-out-of-branch = This belongs to another branch.

# The loyalty program.
nav-loyalty = Loyalty
loy-no-program = No loyalty program is set yet. A marketing manager defines it (kesher loyalty program set FILE, or PUT /api/loyalty/program).
loy-currency = Currency: { $currency }
loy-promotions = Promotions
loy-enrol = Enrol a member
loy-enrol-who = Customer (member no., phone, e-mail or card)
loy-enrol-employee = Employee no. (who enrolled them)
loy-members = Members
loy-members-none = No member yet.
loy-wallet = Loyalty
loy-not-member = Not a member.
loy-next = { $remaining } more to reach { $tier }
loy-top = The highest tier.
loy-kpis = Program KPIs
loy-kpis-window = From { $from } to { $to }
loy-kpi-enrolled = Enrolments (and rejoins)
loy-kpi-left = Members who left
loy-kpi-quality = Average data quality at enrolment (0–100)
loy-kpi-member-sales = Members' share of sales
loy-kpi-member-revenue = Members' share of revenue
loy-kpi-new = Members' first purchases
loy-kpi-issued = Points issued
loy-kpi-redemption = Redemption rate
loy-kpi-liability = Points outstanding and their value
loy-kpi-did = Change in monthly spend after joining, against non-members ({ $months } months; 95% interval)
loy-kpis-more = Every KPI per period, branch and employee: kesher loyalty report, or GET /api/loyalty/kpis.
col-threshold = From
col-multiplier = Points ×
col-benefits = Benefits
col-from = From
col-until = Until
col-quality = Data quality
col-enrolled = Enrolled
flash-enrolled = The customer was enrolled.
err-loyalty-join-min-visits = Joining needs { $required } visits in { $days } days; this customer made { $actual }.
err-loyalty-join-min-spend = Joining needs a higher spend in the last { $days } days.
err-loyalty-join-min-tenure = Joining needs { $required } days as a customer; this one has { $actual }.
err-loyalty-join-fee-unpaid = The enrolment fee has not been paid in full.
err-loyalty-join-invitation-required = The program is by invitation only.
err-loyalty-member-already = This customer is already a member.
err-loyalty-member-not-member = This customer is not a member.
err-loyalty-program-missing = No loyalty program is set.
flash-redeemed = The points were redeemed for the benefit.
flash-honoured = The benefit was honoured.
loy-pending = { $points } points pending (spendable after the return window)
loy-pending-until = until { $date }
loy-next-expiry = Next to expire: { $points } points on { $date }
loy-benefits-available = Benefits available
loy-benefits-none = No benefit available.
loy-benefit-until = until { $date }
loy-source-manual = granted by staff
loy-source-redeemed = redeemed for points
loy-source-tier = with the tier
loy-source-surprise = a surprise
loy-honour = Honour
loy-redeem = Redeem points for
loy-redeem-button = Redeem
loy-cost = { $points } points
loy-catalogue = Benefits catalogue
loy-kind-hard = Hard (has a value)
loy-kind-soft = Soft (service, recognition)
loy-kpi-grants = Benefits granted in the window
loy-kpi-surprises = Surprises drawn
loy-granted = Granted
loy-used = Used
loy-expired = Expired
loy-available = Available
loy-use-rate = Use rate
loy-drawn = Members drawn
col-value = Value
col-cost = Cost in points
col-valid-days = Valid (days)
col-date = Date
err-points-insufficient = The balance is { $balance } points; { $asked } were asked for.
err-loyalty-benefit-unknown = The program's catalogue has no benefit { $benefit }.
err-loyalty-benefit-not-redeemable = { $benefit } cannot be redeemed for points.
err-loyalty-benefit-not-available = This benefit is { $state } and cannot be honoured.
unsubscribe-title = Unsubscribe
unsubscribe-ask-email = Stop receiving our e-mails? Press the button and no further campaign e-mail will be sent to you.
unsubscribe-ask-sms = Stop receiving our text messages? Press the button and no further campaign SMS will be sent to you.
unsubscribe-confirm = Unsubscribe
unsubscribe-done-email = You are unsubscribed: you will receive no more campaign e-mails from us.
unsubscribe-done-sms = You are unsubscribed: you will receive no more campaign text messages from us.
unsubscribe-invalid = This unsubscribe link is not valid. If you copied it, check that it is complete.

# Campaigns.
nav-campaigns = Campaigns
col-state = State
col-created = Created
col-launched = Launched
col-reason = Reason
col-count = Count
col-responders = Responders
col-response-rate = Response rate
col-revenue-per-customer = Revenue per customer
channel-log = log (nothing leaves)
camp-sent = Sent
camp-queued = Queued
camp-suppressed = Suppressed
camp-control = Control group
camp-state-draft = Draft
camp-state-launched = Launched
camp-state-paused = Paused
camp-state-done = Done
camp-none = No campaign yet.
camp-none-manage = Create the first one below from its JSON definition.
camp-create = New campaign
camp-definition = Definition (JSON)
camp-definition-help = The format is in docs/campaigns.md: name, kind, audience (a saved segment or an expression), channels, default_language, templates per language, control_bp, attribution_days. The campaign is created as a draft; nothing is sent before it is launched.
camp-create-button = Create the draft
camp-launch = Launch
camp-resume = Launch again
camp-launch-note = Launching evaluates the audience, draws the control group and writes every message to the outbox; the delivery job then sends them.
camp-pause = Pause
camp-done-note = Every message of this campaign is sent, failed or suppressed.
camp-summary = Definition
camp-kind = Kind
camp-kind-triggered = Triggered when a customer enters the segment { $segment }
camp-kind-scheduled = Scheduled for { $at }
camp-kind-recurring = Every year on the customer's { $date }, { $days ->
    [0] on the day
    [one] { $days } day before
   *[other] { $days } days before
}, at { $at }
camp-date-birthday = birthday
camp-date-membership-anniversary = membership anniversary
camp-audience = Audience
camp-channels = Channels
camp-languages = Languages
camp-default-language = (default { $language })
camp-control-share = Control group share
camp-attribution = Attribution window
camp-days = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
camp-variants = Variants
camp-show-definition = The definition as written
camp-outbox = Outbox
camp-total = Total
camp-outbox-empty = The outbox is empty: the campaign has not been launched.
msg-state-queued = Queued
msg-state-sending = Being sent
msg-state-sent = Sent
msg-state-failed = Failed
msg-state-suppressed = Suppressed
supp-no-consent = no consent for the campaign's channels
supp-no-address = no address for a consented channel
supp-unsubscribed = unsubscribed
supp-frequency-cap = frequency cap reached
supp-control = control group
supp-outside-window = outside the send window
supp-too-long = SMS too long
supp-no-offer = no offer for this customer
camp-report = Report
camp-report-none = The report begins once the campaign is launched.
camp-incomplete = The attribution window of { $days } days has not ended for every message yet: these figures will still change.
camp-group = Group
camp-recipients = Recipients
camp-lift = Lift against the control group
camp-measure = Measure
camp-difference = Difference
camp-ci = 95 % interval
camp-relative = Relative
camp-p-value = p-value
camp-response-lift = Response rate
camp-revenue-lift = Revenue per customer
camp-lift-note = A responder bought within the attribution window (after the send; for the control group, after the launch). An interval that includes zero does not show an effect.
camp-projection = Projected to the { $population } customers of the outbox
camp-proj-responders = Additional responders
camp-proj-revenue = Additional revenue
camp-chart-response = Response rate, recipients against the control group (the line: the 95 % interval the lift gives the recipients)
camp-chart-revenue = Revenue per customer, recipients against the control group (the line: the 95 % interval the lift gives the recipients)
camp-preview = Preview a customer's message
camp-preview-who = Customer (member no., phone, e-mail or card)
camp-preview-variant = Variant
camp-preview-base = The campaign's own texts
camp-preview-button = Preview
camp-preview-suppressed = Nothing would be sent: { $reason }
camp-preview-language = Language
camp-preview-subject = Subject
camp-preview-body = E-mail body
camp-preview-sms = SMS text
camp-preview-segments = { $count ->
    [one] { $count } SMS segment
   *[other] { $count } SMS segments
}
camp-key-root = the top level
flash-campaign-created = The campaign was created as a draft.
flash-campaign-paused = The campaign is paused: its queued messages wait until it is launched again.
flash-campaign-launched = Launched: { $audience } customers in the audience, { $queued } messages queued ({ $waiting } waiting for a variant's winner), { $control } in the control group, { $suppressed } suppressed.
err-campaign-definition-invalid = The definition is not valid at { $key }: { $reason }
err-campaign-state = The campaign is { $state ->
    [draft] a draft
    [launched] launched
    [paused] paused
    [done] done
   *[other] { $state }
}; it must be { $wanted ->
    [launched] launched
   *[other] { $wanted }
}.
err-campaign-stats-empty = A group is still empty: nothing to measure yet.
err-campaign-template-variable = The template { $key } uses { $variable }, which the customer's data does not have (it has { $known }).
err-campaign-template-syntax = The template { $key } is not valid: { $reason }
err-campaign-template-render = The template { $key } could not be written for this customer: { $reason }
err-segment-not-found = There is no saved segment named { $name }.

# Administration (users, roles, tokens, the audit log, retention).
nav-admin = Administration
admin-users = Users
admin-roles = Roles and permissions
admin-tokens = API tokens
admin-audit = Audit log
admin-retention = Data retention
col-username = User name
col-role = Role
col-branch = Branch
col-actions = Actions
col-action = Action
col-scopes = Limited to
col-hint = Begins with
col-expires = Expires
col-actor = Who
col-when = When
col-entity = What
col-details = Details
cancel = Cancel
user-active = active
user-disabled = disabled
user-change = Change
user-no-branch = No branch
user-save-role = Save role and branch
user-new-password = New password
user-set-password = Set the password
user-enable = Enable
user-disable = Disable
user-add = Add a user
user-branch-help = Branch managers and front-desk users work at one branch.
user-initial-password = Initial password (at least 10 characters)
user-add-button = Add the user
flash-user-added = The user was added.
flash-user-changed = The user was changed.
roles-help = What each role may do, the same rules the API and every page obey. Read-only: a role is changed in the code, not here.
grant-allow = yes
grant-own-branch = own branch
grant-anonymised = anonymised
grant-deny = no
action-customers-read = See customers
action-customers-lookup = Find a customer by card, phone or member number
action-customers-enrol = Register customers
action-customers-update = Change customers' details
action-customers-delete = Delete customers
action-customers-merge = Merge duplicate customers
action-customers-export = Export everything held about a customer
action-customers-erase = Erase a customer (the right to be forgotten)
action-transactions-read = See sales
action-transactions-record = Record sales
action-interactions-read = See contacts
action-interactions-record = Record contacts
action-reference-read = See branches, employees and products
action-reference-write = Change branches, employees and products
action-import = Import CSV files
action-analytics-read = See the analytics
action-analytics-run = Run the analysis
action-audit-read = Read the audit log
action-users-manage = Manage users
action-tokens-manage = Manage API tokens
action-privacy-manage = Set data retention
action-segments-read = See segments and their members
action-segments-manage = Save and delete segments
action-points-read = See points balances
action-points-redeem = Redeem points
action-points-adjust = Correct points
action-points-configure = Set how sales earn points
action-jobs-read = See background jobs
action-jobs-manage = Run and cancel background jobs
action-loyalty-read = See the loyalty program and its members
action-loyalty-enrol = Enrol members
action-loyalty-configure = Define the loyalty program
action-benefits-redeem = Redeem and honour benefits
action-benefits-grant = Grant benefits and draw surprises
action-campaigns-read = See campaigns and their reports
action-campaigns-manage = Create, launch and pause campaigns
token-created = Token { $name } was created
token-secret-once = Copy the secret now: it is shown this once and never again (only a digest of it is kept).
token-all-scopes = everything the role may do
token-state-live = live
token-state-revoked = revoked
token-state-expired = expired
token-revoke = Revoke
token-none = No API tokens yet.
token-create = Create a token
token-scopes-help = Optional: actions separated by commas; empty allows everything the role may do.
token-expires-days = Expires after (days, optional)
token-create-button = Create the token
flash-token-revoked = The token was revoked.
audit-from = From
audit-until = Until
audit-filter = Filter
audit-clear = Clear
audit-export = Download the whole log (JSON lines)
audit-details = Show
audit-before = Before
audit-after = After
audit-none = No entries.
audit-newest = Newest
audit-older = Older entries
retention-current = Customers inactive for more than { $years ->
    [one] one year
   *[other] { $years } years
} are anonymised.
retention-forever = Customers are kept however long they are inactive.
retention-years = Keep inactive customers for (years)
retention-years-help = 1 to { $max }; empty keeps them forever.
retention-save = Save
retention-run = Run the retention now
retention-run-help = First see how many customers it would anonymise; nothing changes until you confirm.
retention-check = See what it would remove
retention-would = { $count ->
    [one] One customer has
   *[other] { $count } customers have
} had no activity since { $cutoff } and would be anonymised.
retention-confirm = Anonymise { $count ->
    [one] this customer
   *[other] these { $count } customers
} now
retention-off = No retention period is set: nothing would be removed.
retention-done = { $count ->
    [one] One customer was anonymised.
   *[other] { $count } customers were anonymised.
}
err-user-username-taken = The user name { $username } is taken.
err-user-username-length = A user name has 1 to 64 characters.
err-user-username-characters = A user name may hold letters, digits and . _ - @ only.
err-user-branch-missing = This role works at one branch: choose it.
err-user-last-admin = This is the last active administrator: another must exist first.
err-user-role-pos-device = Tills get API tokens, not user accounts.
err-user-not-found = No such user.
err-password-too-short = The password must be at least { $min } characters long.
err-password-too-long = The password must be at most { $max } characters long.
err-branch-unknown = There is no branch { $branch }.
err-role-unknown = There is no role { $value }.
err-token-name-length = A token's name has 1 to 100 characters.
err-token-scope-unknown = There is no action { $value }.
err-token-scope-not-granted = The role { $role } may not { $scope }.
err-token-not-found = No such token.
err-privacy-retention-out-of-range = The retention period must be a whole number of years from 1 to { $max } (or empty).
err-form-date-invalid = { $value } is not a date (year-month-day).
err-form-number-invalid = { $value } is not a whole number.
## The analytics page
nav-analytics = Analytics
flash-refresh-started = The refresh has started; its progress is shown below.
an-running-title = Refreshing the analysis
an-running = Step { $n } of { $count }: { $step }
an-queued = The refresh is waiting to start.
an-progress-label = Progress of the refresh
an-reload = Reload to see the progress
an-empty-title = No analysis yet
an-empty-body = Run the analysis to see the model's fit, its check on a holdout, the RFM grid, value tiers and basket rules here.
an-refresh = Refresh now
an-refresh-title = The last refresh
an-ran-at = Ran on
an-as-of = Describes the sales up to
an-model = Model chosen
an-scored = Customers scored
an-customers = Customers
an-transactions = Sales read
an-duration = Time taken
an-seconds = { $n } s
an-fit-title = Model fit
an-params = Parameters of { $model }
an-no-model = No purchase model could be fitted on these sales: the ladder follows each customer's rhythm alone and tiers rank past revenue.
an-spend-params = Spend model (Gamma-Gamma)
an-attempts = Models tried
col-parameter = Parameter
col-model = Model
col-outcome = Outcome
col-log-likelihood = Log-likelihood
col-iterations = Iterations
col-seconds = Seconds
col-mae = Holdout error (MAE)
model-bgnbd = BG/NBD
model-pareto-nbd = Pareto/NBD
model-mbgnbd = MBG/NBD
model-gamma-gamma = Gamma-Gamma
model-none = None
outcome-converged = Converged
outcome-budget-exhausted = Ran out of time
outcome-not-identifiable = Not identifiable
outcome-failed = Failed
an-holdout-title = Calibration vs holdout
an-holdout-about = { $model } is fitted on the sales up to { $date } and compared with what the { $customers } customers of that period did in the following { $periods } (the last quarter of the observed time).
an-holdout-window = Calibration up to { $from }, holdout up to { $to }
an-models-compared = Models compared on the calibration period
an-holdout-params = { $model } fitted on the calibration period
an-holdout-none = No holdout check for this refresh: the sales span too short a time, or no model could be fitted on the calibration period.
an-weeks = { $n ->
    [one] one week
   *[other] { $shown } weeks
}
an-days = { $n ->
    [one] one day
   *[other] { $shown } days
}
an-axis-weeks = Weeks since the first purchase
an-axis-days = Days since the first purchase
an-point = { $at }: actual { $actual }, expected { $expected }
series-actual = Actual
series-expected = Expected by the model
an-cumulative = Repeat purchases over time, actual and expected
an-by-frequency = Holdout purchases by purchases in the calibration period
col-frequency = Repeat purchases (calibration)
col-holdout-actual = Holdout purchases, actual (mean)
col-holdout-expected = Holdout purchases, expected (mean)
an-rfm-title = RFM grid: recency by frequency
an-rfm-about = Customers in each cell and their mean revenue; recency 5 bought most recently, frequency 5 buys most often.
an-rfm-cell = Recency { $r }, frequency { $f }: { $customers } customers, mean revenue { $value }
col-recency-score = R{ $r }
col-frequency-score = F{ $f }
col-recency = Recency
col-frequency-header = Frequency
col-mean-revenue = Mean revenue
an-tiers-by-clv = Customers ranked by lifetime value.
an-tiers-by-revenue = Customers ranked by revenue so far (no lifetime value could be estimated).
an-rules-title = Basket rules
an-rules-about = The { $shown } strongest of { $count } rules over { $baskets } baskets (support at least { $support }, confidence at least { $confidence }).
an-rules-none = No basket rules: too few baskets share products at these thresholds.
col-if-bought = Who buys
col-then = Also buys
col-support = Support
col-confidence = Confidence
col-lift = Lift
step-reading-sales = reading the sales
step-summarising-customers = summarising the customers
step-fitting-the-spend-model = fitting the spend model
step-fitting-the-purchase-model = fitting the purchase model
step-scoring-customers = scoring the customers
step-storing-results = storing the results
step-checking-the-model-on-a-holdout = checking the model on a holdout
step-mining-basket-rules = mining the basket rules
step-backfilling-the-stage-history = backfilling the stage history
step-refreshing-the-saved-segments = refreshing the saved segments
