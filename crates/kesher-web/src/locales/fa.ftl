# رابط kesher به فارسی. هر کلید en.ftl باید اینجا هم باشد.
nav-main = منوی اصلی
nav-dashboard = داشبورد
nav-customers = مشتریان
nav-segments = بخش‌ها
language = زبان
apply = اعمال
signed-in-as = { $name } ({ $role })
role-admin = مدیر سامانه
role-marketing_manager = مدیر بازاریابی
role-branch_manager = مدیر شعبه
role-clerk = پیشخوان
role-analyst = تحلیلگر
role-till = صندوق
sign-in = ورود
sign-out = خروج
user-name = نام کاربری
password = گذرواژه
error-title = خطای { $status }
error-generic = مشکلی پیش آمد.
back-home = بازگشت به داشبورد
save = ذخیره
add = افزودن
customer = مشتری
flash-saved = ذخیره شد.
flash-contact-added = تماس ثبت شد.
flash-analyzed = تحلیل به‌روز شد: { $buyers } خریدار امتیاز گرفتند.
flash-segment-saved = بخش { $name } ذخیره شد.

dash-empty-title = هنوز تحلیلی نیست
dash-empty-body = { $customers } مشتری و { $transactions } تراکنش منتظرند. تحلیل را اجرا کنید تا نردبان چرخهٔ عمر، ارزش مشتریان و گروه‌ها را اینجا ببینید.
dash-run = به‌روزرسانی تحلیل
dash-figures = ارقام اصلی
dash-customers = مشتریان
dash-buyers = خریداران
dash-top20 = ارزشِ ۲۰٪ برتر
dash-as-of = تاریخ تحلیل
show-numbers = نمایش اعداد
dash-ladder = مشتریان در هر پلهٔ نردبان
dash-revenue = درآمد بر اساس مرحله
dash-flows = جابه‌جایی میان پله‌ها از ماه گذشته
dash-pareto = منحنی پارتوی ارزش
dash-pareto-point = { $customers } برتر مشتریان { $value } از ارزش را دارند
dash-clv = توزیع ارزش طول عمر مشتری
dash-cohorts = گروه‌های ماهانه: سهم کسانی که هنوز می‌خرند
dash-cohort-cell = گروه { $cohort }، { $months } ماه بعد: { $share }
dash-tiers = ردیف‌های ارزش: سهم از ارزش

col-stage = مرحله
col-customers = مشتریان
col-revenue = درآمد
col-margin = سود ناخالص
col-customers-share = سهم از مشتریان
col-value-share = سهم از ارزش
col-clv-from = ارزش طول عمر
col-cohort = گروه
col-month-1 = پس از ۱ ماه
col-month-3 = پس از ۳ ماه
col-tier = ردیف
col-member = شمارهٔ عضویت
col-name = نام
col-phone = تلفن
col-email = ایمیل
col-card = کارت
col-city = شهر
col-birth-date = تاریخ تولد
col-since = مشتری از
col-rfm = RFM
col-p-alive = احتمال فعال بودن
col-expected = خریدهای مورد انتظار
col-clv = ارزش طول عمر
col-purchases = خریدها
col-spend = هزینه
col-last-purchase = آخرین خرید
col-channel = کانال
col-kind = نوع
col-satisfaction = رضایت
col-text = یادداشت
col-field = فیلد
col-type = نوع

stage-prospect = مشتری بالقوه
stage-first-time = خریدار نخستین
stage-core = مشتری اصلی
stage-at-risk = در خطر
stage-defected = ریزش‌کرده
stage-new = تازه

tier-top = بالا
tier-middle = میانه
tier-rest = بقیه

rfm-champions = قهرمانان
rfm-loyal = وفادار
rfm-potential-loyalist = وفادار بالقوه
rfm-new = تازه
rfm-promising = امیدوارکننده
rfm-need-attention = نیازمند توجه
rfm-about-to-sleep = در آستانهٔ خواب
rfm-at-risk = در خطر
rfm-can-t-lose-them = نباید از دست داد
rfm-hibernating = خفته
rfm-lost = از دست رفته

search = جستجو
search-placeholder = نام، تلفن، ایمیل، شمارهٔ عضویت یا کارت
results = { $count ->
    [0] مشتری‌ای پیدا نشد
    [one] یک مشتری پیدا شد
   *[other] { $count } مشتری پیدا شد
}
results-capped = بیش از { $count } مشتری پیدا شد؛ { $shown } مشتری اول نشان داده می‌شود: برای محدودتر کردن جست‌وجو بیشتر بنویسید

cust-identity = هویت و رضایت‌نامه‌ها
cust-consents = رضایت‌نامه‌ها
cust-no-consents = رضایتی ثبت نشده
cust-value = ارزش و مرحله
cust-no-score = هنوز تحلیل نشده.
cust-wallet = کیف امتیاز
points-balance = { $points } امتیاز
cust-offers = بهترین پیشنهادهای بعدی
cust-offers-pending = قواعد پیشنهاد از زمان راه‌اندازی سرور در حال محاسبه است: یک دقیقه دیگر دوباره بارگذاری کنید
offer-because = به خاطر { $items }
cust-edit = ویرایش
cust-edit-note = فقط فیلدهای نمایش‌داده تغییر می‌کنند؛ بقیه همان‌طور می‌مانند.
cust-add-contact = افزودن تماس
cust-timeline = خط زمانی
cust-no-history = هنوز چیزی نیست
cust-timeline-more = { $sales } خرید و بازپرداخت آخر از { $sales_total } و { $contacts } تماس آخر از { $contacts_total } نشان داده شده است؛ همه:
cust-timeline-sales = خریدها
cust-timeline-contacts = تماس‌ها
tl-sale = خرید به مبلغ { $amount } ({ $lines } قلم)
tl-refund = بازپرداخت { $amount }
satisfaction = رضایت { $n }/۵

channel-store = در فروشگاه
channel-phone = تلفن
channel-email = ایمیل
channel-sms = پیامک
channel-web = وب
channel-social = شبکه‌های اجتماعی
consent-granted = داده شده
consent-withdrawn = پس گرفته شده
kind-note = یادداشت
kind-visit = بازدید
kind-call = تماس تلفنی
kind-inquiry = پرسش
kind-complaint = شکایت
kind-compliment = تعریف

seg-editor = ویرایشگر بخش
seg-name = نام
seg-expression = عبارت
seg-count = { $count ->
    [0] هیچ مشتری‌ای مطابق نیست
    [one] یک مشتری مطابق است
   *[other] { $count } مشتری مطابق‌اند
}
seg-estimate = حدود { $count } مشتری مطابق‌اند (۹۵٪ بین { $low } و { $high }: برآورد از روی نمونه؛ «بررسی» دقیق می‌شمارد)
seg-check = بررسی
seg-save = ذخیره
seg-fields = فیلدهای قابل استفاده
seg-sample = چند عضو
seg-saved = بخش‌های ذخیره‌شده
seg-export = اعضا به صورت CSV
seg-none = هنوز بخشی ذخیره نشده.

err-auth-wrong-credentials = نام کاربری یا گذرواژه نادرست است.
err-auth-disabled = این حساب غیرفعال است.
err-rate-limited = تلاش‌ها بیش از حد است؛ { $retry_after } ثانیه صبر کنید و دوباره امتحان کنید.
err-email-no-at = { $value } نشانی ایمیل نیست: @ ندارد.
err-email-domain-without-dot = { $value } نشانی ایمیل نیست: دامنه باید نقطه داشته باشد، مانند example.com.
err-phone-no-digits = { $value } شمارهٔ تلفن نیست: رقمی ندارد.
err-phone-unexpected-character = { $value } شمارهٔ تلفن نیست: نویسهٔ نامنتظر { $character }.
err-phone-national-length = { $value } شمارهٔ تلفن نیست: شماره‌های { $country } پس از کد کشور { $expected } رقم دارند، نه { $found }.
err-segment-empty = عبارت خالی است.
err-segment-field-unknown = فیلدی به نام { $name } وجود ندارد.
err-segment-syntax-unexpected-token = انتظار { $expected } می‌رفت، { $found } آمد.
err-segment-syntax-expected-value = انتظار یک مقدار (عدد، "متن"، تاریخ یا true/false) می‌رفت، { $found } آمد.
err-segment-name-invalid = { $name } نام بخش نیست: از ۱ تا ۶۴ حرف لاتین، رقم، - یا _ استفاده کنید.
err-customer-not-found = چنین مشتری‌ای وجود ندارد.
err-analysis-missing = هنوز تحلیلی نیست.
err-auth-forbidden-role = نقش شما اجازهٔ این کار را نمی‌دهد.
err-auth-csrf = این فرم منقضی شده است؛ صفحه را دوباره بارگذاری و ارسال کنید.
err-auth-out-of-branch = این مورد به شعبهٔ دیگری تعلق دارد.

# The loyalty program.
nav-loyalty = باشگاه مشتریان
loy-no-program = هنوز برنامهٔ وفاداری تعریف نشده است. مدیر بازاریابی آن را تعریف می‌کند (kesher loyalty program set FILE یا PUT /api/loyalty/program).
loy-currency = واحد پول: { $currency }
loy-promotions = پیشنهادهای ویژه
loy-enrol = عضوگیری
loy-enrol-who = مشتری (شمارهٔ عضویت، تلفن، ایمیل یا کارت)
loy-enrol-employee = شمارهٔ کارمند (عضوکننده)
loy-members = اعضا
loy-members-none = هنوز عضوی نیست.
loy-wallet = باشگاه
loy-not-member = عضو نیست.
loy-next = { $remaining } دیگر تا { $tier }
loy-top = بالاترین سطح.
loy-kpis = شاخص‌های باشگاه
loy-kpis-window = از { $from } تا { $to }
loy-kpi-enrolled = عضویت‌ها (و بازگشت‌ها)
loy-kpi-left = اعضایی که رفتند
loy-kpi-quality = میانگین کیفیت داده‌ها هنگام عضویت (۰ تا ۱۰۰)
loy-kpi-member-sales = سهم اعضا از خریدها
loy-kpi-member-revenue = سهم اعضا از درآمد
loy-kpi-new = نخستین خرید اعضا
loy-kpi-issued = امتیازهای داده‌شده
loy-kpi-redemption = نرخ استفاده از امتیاز
loy-kpi-liability = امتیازهای باقی‌مانده و ارزش آن‌ها
loy-kpi-did = تغییر خرید ماهانه پس از عضویت، در برابر غیرعضوها ({ $months } ماه؛ بازهٔ اطمینان ۹۵٪)
loy-kpis-more = همهٔ شاخص‌ها به تفکیک دوره، شعبه و کارمند: kesher loyalty report یا GET /api/loyalty/kpis.
col-threshold = از
col-multiplier = امتیاز ×
col-benefits = مزایا
col-from = از تاریخ
col-until = تا تاریخ
col-quality = کیفیت داده‌ها
col-enrolled = تاریخ عضویت
flash-enrolled = مشتری عضو باشگاه شد.
err-loyalty-join-min-visits = عضویت به { $required } بار خرید در { $days } روز نیاز دارد؛ این مشتری { $actual } بار خرید کرده است.
err-loyalty-join-min-spend = عضویت به خرید بیشتری در { $days } روز گذشته نیاز دارد.
err-loyalty-join-min-tenure = عضویت به { $required } روز سابقه نیاز دارد؛ این مشتری { $actual } روز دارد.
err-loyalty-join-fee-unpaid = حق عضویت به‌طور کامل پرداخت نشده است.
err-loyalty-join-invitation-required = عضویت فقط با دعوت ممکن است.
err-loyalty-member-already = این مشتری از قبل عضو است.
err-loyalty-member-not-member = این مشتری عضو نیست.
err-loyalty-program-missing = برنامهٔ وفاداری تعریف نشده است.
flash-redeemed = امتیازها برای مزیت خرج شد.
flash-honoured = مزیت ارائه شد.
loy-pending = { $points } امتیاز در انتظار (پس از مهلت بازگشت قابل خرج)
loy-pending-until = تا { $date }
loy-next-expiry = نزدیک‌ترین انقضا: { $points } امتیاز در { $date }
loy-benefits-available = مزایای در دسترس
loy-benefits-none = مزیتی در دسترس نیست.
loy-benefit-until = تا { $date }
loy-source-manual = اعطا شده توسط کارکنان
loy-source-redeemed = با امتیاز
loy-source-tier = همراه سطح
loy-source-surprise = یک هدیهٔ غافلگیرکننده
loy-honour = ارائه
loy-redeem = خرج امتیاز برای
loy-redeem-button = خرج امتیاز
loy-cost = { $points } امتیاز
loy-catalogue = فهرست مزایا
loy-kind-hard = سخت (دارای ارزش)
loy-kind-soft = نرم (خدمت، قدردانی)
loy-kpi-grants = مزایای اعطا شده در این بازه
loy-kpi-surprises = قرعه‌کشی‌های غافلگیرانه
loy-granted = اعطا شده
loy-used = استفاده شده
loy-expired = منقضی
loy-available = در دسترس
loy-use-rate = نرخ استفاده
loy-drawn = اعضای برگزیده
col-value = ارزش
col-cost = هزینه به امتیاز
col-valid-days = اعتبار (روز)
col-date = تاریخ
err-points-insufficient = موجودی { $balance } امتیاز است؛ { $asked } درخواست شد.
err-loyalty-benefit-unknown = فهرست مزایای برنامه مزیتی به نام { $benefit } ندارد.
err-loyalty-benefit-not-redeemable = { $benefit } را نمی‌توان با امتیاز گرفت.
err-loyalty-benefit-not-available = این مزیت { $state } است و قابل ارائه نیست.
unsubscribe-title = لغو اشتراک
unsubscribe-ask-email = دیگر ایمیل‌های ما را دریافت نکنید؟ دکمه را بزنید تا هیچ ایمیل تبلیغاتی دیگری برایتان فرستاده نشود.
unsubscribe-ask-sms = دیگر پیامک‌های ما را دریافت نکنید؟ دکمه را بزنید تا هیچ پیامک تبلیغاتی دیگری برایتان فرستاده نشود.
unsubscribe-confirm = لغو اشتراک
unsubscribe-done-email = اشتراک شما لغو شد: دیگر ایمیل تبلیغاتی از ما دریافت نخواهید کرد.
unsubscribe-done-sms = اشتراک شما لغو شد: دیگر پیامک تبلیغاتی از ما دریافت نخواهید کرد.
unsubscribe-invalid = این پیوند لغو اشتراک معتبر نیست. اگر آن را کپی کرده‌اید، بررسی کنید که کامل باشد.

# کمپین‌ها.
nav-campaigns = کمپین‌ها
col-state = وضعیت
col-created = ایجاد
col-launched = آغاز
col-reason = دلیل
col-count = تعداد
col-responders = پاسخ‌دهندگان
col-response-rate = نرخ پاسخ
col-revenue-per-customer = درآمد به ازای هر مشتری
channel-log = گزارش (چیزی ارسال نمی‌شود)
camp-sent = ارسال‌شده
camp-queued = در صف
camp-suppressed = متوقف‌شده
camp-control = گروه کنترل
camp-state-draft = پیش‌نویس
camp-state-launched = آغازشده
camp-state-paused = متوقف
camp-state-done = پایان‌یافته
camp-none = هنوز کمپینی وجود ندارد.
camp-none-manage = نخستین کمپین را در پایین از تعریف JSON آن بسازید.
camp-create = کمپین تازه
camp-definition = تعریف (JSON)
camp-definition-help = قالب در docs/campaigns.md آمده است: name،‏ kind،‏ audience (یک بخش ذخیره‌شده یا یک عبارت)، channels،‏ default_language،‏ templates برای هر زبان، control_bp،‏ attribution_days. کمپین به‌صورت پیش‌نویس ساخته می‌شود؛ پیش از آغاز چیزی ارسال نمی‌شود.
camp-create-button = ساختن پیش‌نویس
camp-launch = آغاز
camp-resume = آغاز دوباره
camp-launch-note = آغاز کمپین مخاطبان را ارزیابی می‌کند، گروه کنترل را قرعه‌کشی می‌کند و هر پیام را در صندوق خروجی می‌نویسد؛ سپس کار ارسال آن‌ها را می‌فرستد.
camp-pause = توقف
camp-done-note = همهٔ پیام‌های این کمپین ارسال شده، ناموفق بوده یا متوقف شده‌اند.
camp-summary = تعریف
camp-kind = نوع
camp-kind-triggered = با ورود مشتری به بخش { $segment } فعال می‌شود
camp-kind-scheduled = زمان‌بندی‌شده برای { $at }
camp-kind-recurring = هر سال در { $date } مشتری، { $days ->
    [0] در همان روز
    [one] یک روز پیش از آن
   *[other] { $days } روز پیش از آن
}، ساعت { $at }
camp-date-birthday = زادروز
camp-date-membership-anniversary = سالگرد عضویت
camp-audience = مخاطبان
camp-channels = کانال‌ها
camp-languages = زبان‌ها
camp-default-language = (پیش‌فرض { $language })
camp-control-share = سهم گروه کنترل
camp-attribution = بازهٔ انتساب
camp-days = { $days ->
    [one] یک روز
   *[other] { $days } روز
}
camp-variants = نسخه‌ها
camp-show-definition = تعریف همان‌گونه که نوشته شده
camp-outbox = صندوق خروجی
camp-total = جمع
camp-outbox-empty = صندوق خروجی خالی است: کمپین هنوز آغاز نشده است.
msg-state-queued = در صف
msg-state-sending = در حال ارسال
msg-state-sent = ارسال‌شده
msg-state-failed = ناموفق
msg-state-suppressed = متوقف‌شده
supp-no-consent = بدون رضایت برای کانال‌های کمپین
supp-no-address = بدون نشانی برای کانالی که رضایت دارد
supp-unsubscribed = لغو اشتراک کرده
supp-frequency-cap = سقف تعداد پیام پر شده
supp-control = گروه کنترل
supp-outside-window = بیرون از بازهٔ ارسال
supp-too-long = پیامک بیش از حد بلند
camp-report = گزارش
camp-report-none = گزارش پس از آغاز کمپین شروع می‌شود.
camp-incomplete = بازهٔ انتساب { $days } روزه هنوز برای همهٔ پیام‌ها تمام نشده است: این ارقام هنوز تغییر خواهند کرد.
camp-group = گروه
camp-recipients = گیرندگان
camp-lift = بهبود نسبت به گروه کنترل
camp-measure = شاخص
camp-difference = تفاوت
camp-ci = بازهٔ اطمینان ۹۵٪
camp-relative = نسبی
camp-p-value = مقدار p
camp-response-lift = نرخ پاسخ
camp-revenue-lift = درآمد به ازای هر مشتری
camp-lift-note = پاسخ‌دهنده کسی است که در بازهٔ انتساب خرید کرده است (پس از ارسال؛ برای گروه کنترل، پس از آغاز). بازه‌ای که صفر را در بر دارد اثری نشان نمی‌دهد.
camp-projection = پیش‌بینی برای { $population } مشتری صندوق خروجی
camp-proj-responders = پاسخ‌دهندگان افزوده
camp-proj-revenue = درآمد افزوده
camp-chart-response = نرخ پاسخ، گیرندگان در برابر گروه کنترل (خط: بازهٔ اطمینان ۹۵٪ که بهبود به گیرندگان می‌دهد)
camp-chart-revenue = درآمد به ازای هر مشتری، گیرندگان در برابر گروه کنترل (خط: بازهٔ اطمینان ۹۵٪ که بهبود به گیرندگان می‌دهد)
camp-preview = پیش‌نمایش پیام یک مشتری
camp-preview-who = مشتری (شمارهٔ عضویت، تلفن، ایمیل یا کارت)
camp-preview-variant = نسخه
camp-preview-base = متن‌های خود کمپین
camp-preview-button = پیش‌نمایش
camp-preview-suppressed = چیزی ارسال نمی‌شود: { $reason }
camp-preview-language = زبان
camp-preview-subject = موضوع
camp-preview-body = متن ایمیل
camp-preview-sms = متن پیامک
camp-preview-segments = { $count ->
    [one] یک بخش پیامک
   *[other] { $count } بخش پیامک
}
camp-key-root = سطح بالا
flash-campaign-created = کمپین به‌صورت پیش‌نویس ساخته شد.
flash-campaign-paused = کمپین متوقف شد: پیام‌های در صف تا آغاز دوباره منتظر می‌مانند.
flash-campaign-launched = آغاز شد: { $audience } مشتری در میان مخاطبان، { $queued } پیام در صف ({ $waiting } در انتظار نسخهٔ برنده)، { $control } در گروه کنترل، { $suppressed } متوقف‌شده.
err-campaign-definition-invalid = تعریف در { $key } معتبر نیست: { $reason }
err-campaign-state = کمپین { $state ->
    [draft] پیش‌نویس است
    [launched] آغاز شده است
    [paused] متوقف است
    [done] پایان یافته است
   *[other] در وضعیت { $state } است
}؛ باید { $wanted ->
    [launched] آغازشده
   *[other] { $wanted }
} باشد.
err-campaign-stats-empty = یکی از گروه‌ها هنوز خالی است: هنوز چیزی برای سنجش نیست.
err-campaign-template-variable = الگوی { $key } از { $variable } استفاده می‌کند که در داده‌های مشتری نیست (داده‌ها شامل { $known } است).
err-campaign-template-syntax = الگوی { $key } معتبر نیست: { $reason }
err-campaign-template-render = الگوی { $key } برای این مشتری نوشته نشد: { $reason }
err-segment-not-found = بخش ذخیره‌شده‌ای با نام { $name } وجود ندارد.

## The analytics page
nav-analytics = تحلیل‌ها
flash-refresh-started = به‌روزرسانی آغاز شد؛ پیشرفت آن در زیر نمایش داده می‌شود.
an-running-title = در حال به‌روزرسانی تحلیل
an-running = مرحلهٔ { $n } از { $count }: { $step }
an-queued = به‌روزرسانی در انتظار آغاز است.
an-progress-label = پیشرفت به‌روزرسانی
an-reload = برای دیدن پیشرفت صفحه را دوباره بارگذاری کنید
an-empty-title = هنوز تحلیلی انجام نشده است
an-empty-body = تحلیل را اجرا کنید تا برازش مدل، آزمون آن روی دورهٔ نگهداشت، جدول RFM، رده‌های ارزش و قواعد سبد خرید را اینجا ببینید.
an-refresh = همین حالا به‌روز کن
an-refresh-title = آخرین به‌روزرسانی
an-ran-at = زمان اجرا
an-as-of = فروش‌ها را تا این زمان توصیف می‌کند
an-model = مدل انتخاب‌شده
an-scored = مشتریان امتیازدهی‌شده
an-customers = مشتریان
an-transactions = فروش‌های خوانده‌شده
an-duration = مدت اجرا
an-seconds = { $n } ثانیه
an-fit-title = برازش مدل
an-params = پارامترهای { $model }
an-no-model = هیچ مدل خریدی روی این فروش‌ها برازش نشد: نردبان فقط از آهنگ خرید هر مشتری پیروی می‌کند و رده‌ها بر اساس درآمد تاکنون رتبه‌بندی می‌شوند.
an-spend-params = مدل هزینه (گاما-گاما)
an-attempts = مدل‌های آزموده‌شده
col-parameter = پارامتر
col-model = مدل
col-outcome = نتیجه
col-log-likelihood = لگاریتم درست‌نمایی
col-iterations = تکرارها
col-seconds = ثانیه
col-mae = خطای دورهٔ نگهداشت (MAE)
model-bgnbd = BG/NBD
model-pareto-nbd = Pareto/NBD
model-mbgnbd = MBG/NBD
model-gamma-gamma = گاما-گاما
model-none = هیچ
outcome-converged = همگرا شد
outcome-budget-exhausted = زمان تمام شد
outcome-not-identifiable = شناسایی‌پذیر نیست
outcome-failed = ناموفق
an-holdout-title = واسنجی در برابر دورهٔ نگهداشت
an-holdout-about = { $model } روی فروش‌ها تا { $date } برازش شده و با آنچه { $customers } مشتری آن دوره در { $periods } بعدی انجام دادند مقایسه شده است (ربع پایانی زمان مشاهده‌شده).
an-holdout-window = واسنجی تا { $from }، نگهداشت تا { $to }
an-models-compared = مقایسهٔ مدل‌ها روی دورهٔ واسنجی
an-holdout-params = { $model } برازش‌شده روی دورهٔ واسنجی
an-holdout-none = این به‌روزرسانی آزمون نگهداشت ندارد: بازهٔ فروش‌ها بسیار کوتاه است یا هیچ مدلی روی دورهٔ واسنجی برازش نشد.
an-weeks = { $n ->
    [one] یک هفته
   *[other] { $shown } هفته
}
an-days = { $n ->
    [one] یک روز
   *[other] { $shown } روز
}
an-axis-weeks = هفته‌ها از نخستین خرید
an-axis-days = روزها از نخستین خرید
an-point = { $at }: واقعی { $actual }، مورد انتظار { $expected }
series-actual = واقعی
series-expected = مورد انتظار مدل
an-cumulative = خریدهای تکراری در طول زمان، واقعی و مورد انتظار
an-by-frequency = خریدهای دورهٔ نگهداشت بر حسب خریدهای دورهٔ واسنجی
col-frequency = خریدهای تکراری (واسنجی)
col-holdout-actual = خریدهای نگهداشت، واقعی (میانگین)
col-holdout-expected = خریدهای نگهداشت، مورد انتظار (میانگین)
an-rfm-title = جدول RFM: تازگی بر حسب تکرار
an-rfm-about = شمار مشتریان هر خانه و میانگین درآمد آنان؛ تازگی ۵ یعنی تازه‌ترین خرید، تکرار ۵ یعنی بیشترین دفعات خرید.
an-rfm-cell = تازگی { $r }، تکرار { $f }: { $customers } مشتری، میانگین درآمد { $value }
col-recency-score = R{ $r }
col-frequency-score = F{ $f }
col-recency = تازگی
col-frequency-header = تکرار
col-mean-revenue = میانگین درآمد
an-tiers-by-clv = مشتریان بر اساس ارزش طول عمر رتبه‌بندی شده‌اند.
an-tiers-by-revenue = مشتریان بر اساس درآمد تاکنون رتبه‌بندی شده‌اند (ارزش طول عمر برآورد نشد).
an-rules-title = قواعد سبد خرید
an-rules-about = { $shown } قاعدهٔ قوی‌تر از میان { $count } قاعده روی { $baskets } سبد (پشتیبانی دست‌کم { $support }، اطمینان دست‌کم { $confidence }).
an-rules-none = قاعده‌ای برای سبد نیست: سبدهای بسیار کمی در این آستانه‌ها کالای مشترک دارند.
col-if-bought = هر کس بخرد
col-then = این را هم می‌خرد
col-support = پشتیبانی
col-confidence = اطمینان
col-lift = بالابری
step-reading-sales = خواندن فروش‌ها
step-summarising-customers = خلاصه‌سازی مشتریان
step-fitting-the-spend-model = برازش مدل هزینه
step-fitting-the-purchase-model = برازش مدل خرید
step-scoring-customers = امتیازدهی به مشتریان
step-storing-results = ذخیرهٔ نتایج
step-checking-the-model-on-a-holdout = آزمون مدل روی دورهٔ نگهداشت
step-mining-basket-rules = استخراج قواعد سبد
step-backfilling-the-stage-history = تکمیل تاریخچهٔ مراحل
step-refreshing-the-saved-segments = به‌روزرسانی بخش‌های ذخیره‌شده
