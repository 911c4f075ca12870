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
