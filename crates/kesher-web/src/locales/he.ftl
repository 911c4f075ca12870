# ממשק kesher בעברית. כל מפתח של en.ftl חייב להופיע כאן.
nav-main = תפריט ראשי
nav-dashboard = לוח בקרה
nav-customers = לקוחות
nav-segments = פלחים
language = שפה
apply = החל
signed-in-as = { $name } ({ $role })
role-admin = מנהל מערכת
role-marketing_manager = מנהל שיווק
role-branch_manager = מנהל סניף
role-clerk = דלפק קבלה
role-analyst = אנליסט
role-till = קופה
sign-in = כניסה
sign-out = יציאה
user-name = שם משתמש
password = סיסמה
error-title = שגיאה { $status }
error-generic = משהו השתבש.
back-home = חזרה ללוח הבקרה
save = שמירה
add = הוספה
customer = לקוח
flash-saved = נשמר.
flash-contact-added = הפנייה נרשמה.
flash-analyzed = הניתוח עודכן: { $buyers } קונים דורגו.
flash-segment-saved = הפלח { $name } נשמר.

dash-empty-title = עדיין אין ניתוח
dash-empty-body = { $customers } לקוחות ו־{ $transactions } עסקאות ממתינים. הריצו את הניתוח כדי לראות כאן את סולם מחזור החיים, ערך הלקוחות והקבוצות.
dash-run = רענון הניתוח
dash-figures = נתונים עיקריים
dash-customers = לקוחות
dash-buyers = קונים
dash-top20 = הערך שבידי 20% הטובים
dash-as-of = נותח בתאריך
show-numbers = הצגת המספרים
dash-ladder = לקוחות בכל שלב בסולם
dash-revenue = הכנסות לפי שלב
dash-flows = מעברים בין שלבים מאז החודש הקודם
dash-pareto = עקומת פארטו של הערך
dash-pareto-point = { $customers } הטובים מהלקוחות מחזיקים { $value } מהערך
dash-clv = התפלגות ערך חיי הלקוח
dash-cohorts = קבוצות חודשיות: שיעור הממשיכים לקנות
dash-cohort-cell = קבוצת { $cohort }, { $months ->
    [one] חודש אחד אחרי
    [two] חודשיים אחרי
   *[other] { $months } חודשים אחרי
}: { $share }
dash-tiers = שכבות ערך: חלק מהערך

col-stage = שלב
col-customers = לקוחות
col-revenue = הכנסות
col-margin = רווח גולמי
col-customers-share = חלק מהלקוחות
col-value-share = חלק מהערך
col-clv-from = ערך חיי לקוח
col-cohort = קבוצה
col-month-1 = אחרי חודש
col-month-3 = אחרי 3 חודשים
col-tier = שכבה
col-member = מס׳ חבר
col-name = שם
col-phone = טלפון
col-email = דוא״ל
col-card = כרטיס
col-city = עיר
col-birth-date = תאריך לידה
col-since = לקוח מאז
col-rfm = RFM
col-p-alive = הסתברות פעילות
col-expected = רכישות צפויות
col-clv = ערך חיי לקוח
col-purchases = רכישות
col-spend = הוצאה
col-last-purchase = רכישה אחרונה
col-channel = ערוץ
col-kind = סוג
col-satisfaction = שביעות רצון
col-text = הערה
col-field = שדה
col-type = סוג

stage-prospect = מתעניין
stage-first-time = קונה ראשון
stage-core = לקוח ליבה
stage-at-risk = בסיכון
stage-defected = נטש
stage-new = חדש

tier-top = עליונה
tier-middle = אמצעית
tier-rest = שאר

rfm-champions = אלופים
rfm-loyal = נאמנים
rfm-potential-loyalist = נאמנים בפוטנציה
rfm-new = חדשים
rfm-promising = מבטיחים
rfm-need-attention = דורשים תשומת לב
rfm-about-to-sleep = עומדים להירדם
rfm-at-risk = בסיכון
rfm-can-t-lose-them = אסור לאבד
rfm-hibernating = רדומים
rfm-lost = אבודים

search = חיפוש
search-placeholder = שם, טלפון, דוא״ל, מספר חבר או כרטיס
results = { $count ->
    [0] לא נמצא לקוח
    [one] נמצא לקוח אחד
   *[other] נמצאו { $count } לקוחות
}
results-capped = נמצאו יותר מ־{ $count } לקוחות; מוצגים { $shown } הראשונים: הקלידו עוד כדי לצמצם את החיפוש

cust-identity = זהות והסכמות
cust-consents = הסכמות
cust-no-consents = לא נרשמה הסכמה
cust-value = ערך ושלב
cust-no-score = עדיין לא נותח.
cust-wallet = ארנק
points-balance = { $points ->
    [one] נקודה אחת
   *[other] { $points } נקודות
}
cust-offers = ההצעות הבאות המומלצות
cust-offers-pending = כללי ההצעות מחושבים מאז שהשרת עלה: טענו מחדש בעוד דקה
offer-because = בגלל { $items }
cust-edit = עריכה
cust-edit-note = רק השדות המוצגים משתנים; כל השאר נשאר כפי שהוא.
cust-add-contact = הוספת פנייה
cust-timeline = ציר זמן
cust-no-history = עדיין אין כלום
cust-timeline-more = מוצגות { $sales } הרכישות וההחזרות האחרונות מתוך { $sales_total } ו־{ $contacts } הפניות האחרונות מתוך { $contacts_total }; כולן:
cust-timeline-sales = רכישות
cust-timeline-contacts = פניות
tl-sale = רכישה בסך { $amount } ({ $lines ->
    [one] פריט אחד
   *[other] { $lines } פריטים
})
tl-refund = החזר בסך { $amount }
satisfaction = שביעות רצון { $n }/5

channel-store = בחנות
channel-phone = טלפון
channel-email = דוא״ל
channel-sms = מסרון
channel-web = אתר
channel-social = רשתות חברתיות
consent-granted = ניתנה
consent-withdrawn = בוטלה
kind-note = הערה
kind-visit = ביקור
kind-call = שיחה
kind-inquiry = בירור
kind-complaint = תלונה
kind-compliment = מחמאה
kind-click = לחיצה על קישור

seg-editor = עורך פלחים
seg-name = שם
seg-expression = ביטוי
seg-count = { $count ->
    [0] אף לקוח אינו מתאים
    [one] לקוח אחד מתאים
   *[other] { $count } לקוחות מתאימים
}
seg-estimate = כ־{ $count } לקוחות מתאימים (95% בין { $low } ל־{ $high }: הערכה לפי מדגם; „בדיקה” סופרת במדויק)
seg-check = בדיקה
seg-save = שמירה
seg-fields = שדות שאפשר להשתמש בהם
seg-sample = חלק מהחברים
seg-saved = פלחים שמורים
seg-export = חברים כ־CSV
seg-none = עדיין לא נשמר פלח.

err-auth-wrong-credentials = שם משתמש או סיסמה שגויים.
err-auth-disabled = החשבון הזה מושבת.
err-rate-limited = יותר מדי ניסיונות; המתינו { $retry_after } שניות ונסו שוב.
err-email-no-at = { $value } אינה כתובת דוא״ל: אין בה @.
err-email-domain-without-dot = { $value } אינה כתובת דוא״ל: בשם הדומיין חסרה נקודה, כמו ב־example.com.
err-phone-no-digits = { $value } אינו מספר טלפון: אין בו ספרות.
err-phone-unexpected-character = { $value } אינו מספר טלפון: תו לא צפוי { $character }.
err-phone-national-length = { $value } אינו מספר טלפון: למספר מ־{ $country } יש { $expected } ספרות אחרי קידומת המדינה, לא { $found }.
err-segment-empty = הביטוי ריק.
err-segment-field-unknown = אין שדה בשם { $name }.
err-segment-syntax-unexpected-token = ציפינו ל־{ $expected }, נמצא { $found }.
err-segment-syntax-expected-value = ציפינו לערך (מספר, "טקסט", תאריך או true/false), נמצא { $found }.
err-segment-name-invalid = { $name } אינו שם פלח: השתמשו ב־1 עד 64 אותיות לטיניות, ספרות, - או _.
err-customer-not-found = אין לקוח כזה.
err-analysis-missing = עדיין אין ניתוח.
err-auth-forbidden-role = התפקיד שלכם אינו מרשה זאת.
err-auth-csrf = תוקף הטופס פג; טענו את הדף מחדש ושלחו שוב.
err-auth-out-of-branch = זה שייך לסניף אחר.

# The loyalty program.
nav-loyalty = מועדון
loy-no-program = עדיין לא הוגדרה תוכנית מועדון. מנהל השיווק מגדיר אותה (kesher loyalty program set FILE, או PUT /api/loyalty/program).
loy-currency = מטבע: { $currency }
loy-promotions = מבצעים
loy-enrol = צירוף חבר
loy-enrol-who = לקוח (מס׳ חבר, טלפון, דוא״ל או כרטיס)
loy-enrol-employee = מס׳ עובד (מי צירף)
loy-members = חברים
loy-members-none = אין עדיין חברים.
loy-wallet = מועדון
loy-not-member = לא חבר מועדון.
loy-next = עוד { $remaining } עד { $tier }
loy-top = הדרגה הגבוהה ביותר.
loy-kpis = מדדי המועדון
loy-kpis-window = מ־{ $from } עד { $to }
loy-kpi-enrolled = הצטרפויות (וחזרות)
loy-kpi-left = חברים שעזבו
loy-kpi-quality = איכות נתונים ממוצעת בהצטרפות (0–100)
loy-kpi-member-sales = חלק החברים בעסקאות
loy-kpi-member-revenue = חלק החברים בהכנסות
loy-kpi-new = קניות ראשונות של חברים
loy-kpi-issued = נקודות שהוענקו
loy-kpi-redemption = שיעור מימוש
loy-kpi-liability = יתרת נקודות ושוויה
loy-kpi-did = שינוי בקנייה החודשית אחרי ההצטרפות, לעומת לא־חברים ({ $months } חודשים; רווח סמך 95%)
loy-kpis-more = כל המדדים לפי תקופה, סניף ועובד: kesher loyalty report, או GET /api/loyalty/kpis.
col-threshold = החל מ־
col-multiplier = נקודות ×
col-benefits = הטבות
col-from = מתאריך
col-until = עד תאריך
col-quality = איכות הנתונים
col-enrolled = הצטרף
flash-enrolled = הלקוח צורף למועדון.
err-loyalty-join-min-visits = ההצטרפות דורשת { $required } ביקורים ב־{ $days } ימים; ללקוח זה { $actual }.
err-loyalty-join-min-spend = ההצטרפות דורשת סכום קנייה גבוה יותר ב־{ $days } הימים האחרונים.
err-loyalty-join-min-tenure = ההצטרפות דורשת { $required } ימים כלקוח; ללקוח זה { $actual }.
err-loyalty-join-fee-unpaid = דמי ההצטרפות לא שולמו במלואם.
err-loyalty-join-invitation-required = ההצטרפות בהזמנה בלבד.
err-loyalty-member-already = הלקוח כבר חבר מועדון.
err-loyalty-member-not-member = הלקוח אינו חבר מועדון.
err-loyalty-program-missing = לא הוגדרה תוכנית מועדון.
flash-redeemed = הנקודות מומשו להטבה.
flash-honoured = ההטבה כובדה.
loy-pending = { $points } נקודות ממתינות (ניתנות למימוש בתום תקופת ההחזרה)
loy-pending-until = עד { $date }
loy-next-expiry = הבאות לפוג: { $points } נקודות ב־{ $date }
loy-benefits-available = הטבות זמינות
loy-benefits-none = אין הטבה זמינה.
loy-benefit-until = עד { $date }
loy-source-manual = הוענקה על ידי הצוות
loy-source-redeemed = מומשה בנקודות
loy-source-tier = עם הדרגה
loy-source-surprise = הפתעה
loy-honour = כיבוד
loy-redeem = מימוש נקודות עבור
loy-redeem-button = מימוש
loy-cost = { $points } נקודות
loy-catalogue = קטלוג ההטבות
loy-kind-hard = קשיחה (בעלת ערך)
loy-kind-soft = רכה (שירות, הכרה)
loy-kpi-grants = הטבות שהוענקו בתקופה
loy-kpi-surprises = הפתעות שהוגרלו
loy-granted = הוענקו
loy-used = נוצלו
loy-expired = פגו
loy-available = זמינות
loy-use-rate = שיעור ניצול
loy-drawn = חברים שהוגרלו
col-value = ערך
col-cost = עלות בנקודות
col-valid-days = תוקף (ימים)
col-date = תאריך
err-points-insufficient = היתרה היא { $balance } נקודות; התבקשו { $asked }.
err-loyalty-benefit-unknown = בקטלוג התוכנית אין הטבה { $benefit }.
err-loyalty-benefit-not-redeemable = את { $benefit } אי אפשר לממש בנקודות.
err-loyalty-benefit-not-available = ההטבה במצב { $state } ואי אפשר לכבד אותה.
unsubscribe-title = הסרה מרשימת התפוצה
unsubscribe-ask-email = להפסיק לקבל מאיתנו דואר אלקטרוני? לחצו על הכפתור ולא יישלחו אליכם עוד הודעות דואר אלקטרוני של מבצעים.
unsubscribe-ask-sms = להפסיק לקבל מאיתנו הודעות טקסט? לחצו על הכפתור ולא יישלחו אליכם עוד הודעות SMS של מבצעים.
unsubscribe-confirm = הסירו אותי
unsubscribe-done-email = הוסרתם מהרשימה: לא תקבלו מאיתנו עוד דואר אלקטרוני של מבצעים.
unsubscribe-done-sms = הוסרתם מהרשימה: לא תקבלו מאיתנו עוד הודעות טקסט של מבצעים.
unsubscribe-invalid = קישור ההסרה הזה אינו תקין. אם העתקתם אותו, בדקו שהוא שלם.

# קמפיינים.
nav-campaigns = קמפיינים
col-state = מצב
col-created = נוצר
col-launched = הושק
col-reason = סיבה
col-count = מספר
col-responders = מגיבים
col-response-rate = שיעור תגובה
col-revenue-per-customer = הכנסה ללקוח
channel-log = יומן (דבר אינו נשלח)
camp-sent = נשלחו
camp-queued = בתור
camp-suppressed = נחסמו
camp-control = קבוצת ביקורת
camp-state-draft = טיוטה
camp-state-launched = הושק
camp-state-paused = מושהה
camp-state-done = הסתיים
camp-none = עדיין אין קמפיינים.
camp-none-manage = צרו את הראשון למטה מהגדרת ה־JSON שלו.
camp-create = קמפיין חדש
camp-definition = הגדרה (JSON)
camp-definition-help = המבנה מתואר ב־docs/campaigns.md:‏ name,‏ kind,‏ audience (פלח שמור או ביטוי), channels,‏ default_language,‏ templates לכל שפה, control_bp,‏ attribution_days. הקמפיין נוצר כטיוטה; דבר אינו נשלח לפני ההשקה.
camp-create-button = יצירת הטיוטה
camp-launch = השקה
camp-resume = השקה מחדש
camp-launch-note = ההשקה מחשבת את קהל היעד, מגרילה את קבוצת הביקורת וכותבת כל הודעה לתיבת היוצא; משימת השליחה שולחת אותן אחר כך.
camp-pause = השהיה
camp-done-note = כל הודעות הקמפיין נשלחו, נכשלו או נחסמו.
camp-summary = הגדרה
camp-kind = סוג
camp-kind-triggered = מופעל כשלקוח נכנס לפלח { $segment }
camp-kind-scheduled = מתוזמן ל־{ $at }
camp-kind-recurring = מדי שנה ב{ $date } של הלקוח, { $days ->
    [0] ביום עצמו
    [one] יום אחד לפני
   *[other] { $days } ימים לפני
}, בשעה { $at }
camp-date-birthday = יום ההולדת
camp-date-membership-anniversary = יום השנה להצטרפות
camp-audience = קהל יעד
camp-channels = ערוצים
camp-languages = שפות
camp-default-language = (ברירת מחדל { $language })
camp-control-share = חלק קבוצת הביקורת
camp-attribution = חלון ייחוס
camp-days = { $days ->
    [one] יום אחד
   *[other] { $days } ימים
}
camp-variants = גרסאות
camp-show-definition = ההגדרה כפי שנכתבה
camp-outbox = תיבת יוצא
camp-total = סך הכול
camp-outbox-empty = תיבת היוצא ריקה: הקמפיין עדיין לא הושק.
msg-state-queued = בתור
msg-state-sending = בשליחה
msg-state-sent = נשלחה
msg-state-failed = נכשלה
msg-state-suppressed = נחסמה
supp-no-consent = אין הסכמה לערוצי הקמפיין
supp-no-address = אין כתובת בערוץ שיש לו הסכמה
supp-unsubscribed = הוסר מרשימת התפוצה
supp-frequency-cap = הגיע למכסת ההודעות
supp-control = קבוצת ביקורת
supp-outside-window = מחוץ לחלון השליחה
supp-too-long = המסרון ארוך מדי
supp-no-offer = אין הצעה ללקוח זה
camp-report = דוח
camp-report-none = הדוח מתחיל עם השקת הקמפיין.
camp-incomplete = חלון הייחוס של { $days } ימים עדיין לא הסתיים לכל ההודעות: המספרים עוד ישתנו.
camp-group = קבוצה
camp-recipients = נמענים
camp-lift = השיפור לעומת קבוצת הביקורת
camp-measure = מדד
camp-difference = הפרש
camp-ci = רווח סמך 95%
camp-relative = יחסי
camp-p-value = ערך p
camp-response-lift = שיעור תגובה
camp-revenue-lift = הכנסה ללקוח
camp-lift-note = מגיב הוא מי שקנה בתוך חלון הייחוס (אחרי השליחה; בקבוצת הביקורת — אחרי ההשקה). רווח סמך שכולל את האפס אינו מראה השפעה.
camp-projection = תחזית ל־{ $population } הלקוחות שבתיבת היוצא
camp-proj-responders = מגיבים נוספים
camp-proj-revenue = הכנסה נוספת
camp-chart-response = שיעור תגובה, נמענים מול קבוצת הביקורת (הקו: רווח הסמך 95% שהשיפור נותן לנמענים)
camp-chart-revenue = הכנסה ללקוח, נמענים מול קבוצת הביקורת (הקו: רווח הסמך 95% שהשיפור נותן לנמענים)
camp-preview = תצוגה מקדימה של הודעה ללקוח
camp-preview-who = לקוח (מספר חבר, טלפון, דוא״ל או כרטיס)
camp-preview-variant = גרסה
camp-preview-base = הטקסטים של הקמפיין עצמו
camp-preview-button = תצוגה מקדימה
camp-preview-suppressed = לא יישלח דבר: { $reason }
camp-preview-language = שפה
camp-preview-subject = נושא
camp-preview-body = גוף הדוא״ל
camp-preview-sms = נוסח המסרון
camp-preview-segments = { $count ->
    [one] מקטע מסרון אחד
   *[other] { $count } מקטעי מסרון
}
camp-key-root = הרמה העליונה
flash-campaign-created = הקמפיין נוצר כטיוטה.
flash-campaign-paused = הקמפיין הושהה: ההודעות שבתור ימתינו עד להשקה מחדש.
flash-campaign-launched = הושק: { $audience } לקוחות בקהל היעד, { $queued } הודעות בתור ({ $waiting } ממתינות לגרסה המנצחת), { $control } בקבוצת הביקורת, { $suppressed } נחסמו.
err-campaign-definition-invalid = ההגדרה אינה תקינה ב־{ $key }: { $reason }
err-campaign-state = הקמפיין { $state ->
    [draft] הוא טיוטה
    [launched] הושק
    [paused] מושהה
    [done] הסתיים
   *[other] במצב { $state }
}; עליו להיות { $wanted ->
    [launched] מושק
   *[other] { $wanted }
}.
err-campaign-stats-empty = אחת הקבוצות עדיין ריקה: אין עדיין מה למדוד.
err-campaign-template-variable = התבנית { $key } משתמשת ב־{ $variable }, שאינו בנתוני הלקוח (יש בהם { $known }).
err-campaign-template-syntax = התבנית { $key } אינה תקינה: { $reason }
err-campaign-template-render = לא ניתן היה לכתוב את התבנית { $key } ללקוח הזה: { $reason }
err-segment-not-found = אין פלח שמור בשם { $name }.

# ניהול (משתמשים, תפקידים, אסימונים, יומן הביקורת, שמירת נתונים).
nav-admin = ניהול
admin-users = משתמשים
admin-roles = תפקידים והרשאות
admin-tokens = אסימוני API
admin-audit = יומן ביקורת
admin-retention = שמירת נתונים
col-username = שם משתמש
col-role = תפקיד
col-branch = סניף
col-actions = פעולות
col-action = פעולה
col-scopes = מוגבל ל־
col-hint = מתחיל ב־
col-expires = תוקף עד
col-actor = מי
col-when = מתי
col-entity = מה
col-details = פרטים
cancel = ביטול
user-active = פעיל
user-disabled = מושבת
user-change = שינוי
user-no-branch = ללא סניף
user-save-role = שמירת תפקיד וסניף
user-new-password = סיסמה חדשה
user-set-password = קביעת הסיסמה
user-enable = הפעלה
user-disable = השבתה
user-add = הוספת משתמש
user-branch-help = מנהלי סניף ועובדי דלפק עובדים בסניף אחד.
user-initial-password = סיסמה ראשונית (10 תווים לפחות)
user-add-button = הוספת המשתמש
flash-user-added = המשתמש נוסף.
flash-user-changed = המשתמש עודכן.
roles-help = מה מותר לכל תפקיד — אותם כללים שה־API וכל דף מקיימים. לקריאה בלבד: תפקיד משתנה בקוד, לא כאן.
grant-allow = כן
grant-own-branch = הסניף שלו
grant-anonymised = מותמם
grant-deny = לא
action-customers-read = צפייה בלקוחות
action-customers-lookup = איתור לקוח לפי כרטיס, טלפון או מספר חבר
action-customers-enrol = רישום לקוחות
action-customers-update = שינוי פרטי לקוחות
action-customers-delete = מחיקת לקוחות
action-customers-merge = מיזוג לקוחות כפולים
action-customers-export = ייצוא כל המידע השמור על לקוח
action-customers-erase = מחיקת לקוח (הזכות להישכח)
action-transactions-read = צפייה במכירות
action-transactions-record = רישום מכירות
action-interactions-read = צפייה בפניות
action-interactions-record = רישום פניות
action-reference-read = צפייה בסניפים, עובדים ומוצרים
action-reference-write = שינוי סניפים, עובדים ומוצרים
action-import = ייבוא קובצי CSV
action-analytics-read = צפייה בניתוחים
action-analytics-run = הרצת הניתוח
action-audit-read = קריאת יומן הביקורת
action-users-manage = ניהול משתמשים
action-tokens-manage = ניהול אסימוני API
action-privacy-manage = קביעת שמירת נתונים
action-segments-read = צפייה בפלחים ובחבריהם
action-segments-manage = שמירה ומחיקה של פלחים
action-points-read = צפייה ביתרות נקודות
action-points-redeem = מימוש נקודות
action-points-adjust = תיקון נקודות
action-points-configure = קביעת צבירת הנקודות ממכירות
action-jobs-read = צפייה במשימות רקע
action-jobs-manage = הרצה וביטול של משימות רקע
action-loyalty-read = צפייה במועדון הלקוחות ובחבריו
action-loyalty-enrol = צירוף חברים
action-loyalty-configure = הגדרת מועדון הלקוחות
action-benefits-redeem = מימוש וכיבוד הטבות
action-benefits-grant = הענקת הטבות והגרלת הפתעות
action-campaigns-read = צפייה בקמפיינים ובדוחותיהם
action-campaigns-manage = יצירה, השקה והשהיה של קמפיינים
token-created = האסימון { $name } נוצר
token-secret-once = העתיקו את הסוד עכשיו: הוא מוצג פעם אחת בלבד ולעולם לא שוב (נשמר רק תקציר שלו).
token-all-scopes = כל מה שמותר לתפקיד
token-state-live = פעיל
token-state-revoked = בוטל
token-state-expired = פג תוקף
token-revoke = ביטול
token-none = אין עדיין אסימוני API.
token-create = יצירת אסימון
token-scopes-help = רשות: פעולות מופרדות בפסיקים; ריק מתיר כל מה שמותר לתפקיד.
token-expires-days = תוקף (ימים, רשות)
token-create-button = יצירת האסימון
flash-token-revoked = האסימון בוטל.
audit-from = מתאריך
audit-until = עד תאריך
audit-filter = סינון
audit-clear = ניקוי
audit-export = הורדת היומן כולו (שורות JSON)
audit-details = הצגה
audit-before = לפני
audit-after = אחרי
audit-none = אין רשומות.
audit-newest = החדשות ביותר
audit-older = רשומות ישנות יותר
retention-current = לקוחות שאינם פעילים יותר { $years ->
    [one] משנה
    [two] משנתיים
   *[other] מ־{ $years } שנים
} עוברים התממה.
retention-forever = לקוחות נשמרים ללא הגבלה, גם אם אינם פעילים.
retention-years = שמירת לקוחות לא פעילים (שנים)
retention-years-help = בין 1 ל־{ $max }; ריק שומר אותם לתמיד.
retention-save = שמירה
retention-run = הרצת שמירת הנתונים עכשיו
retention-run-help = תחילה תראו כמה לקוחות יעברו התממה; דבר לא משתנה עד שתאשרו.
retention-check = מה יוסר?
retention-would = { $count ->
    [one] ללקוח אחד
   *[other] ל־{ $count } לקוחות
} אין פעילות מאז { $cutoff }, והם יעברו התממה.
retention-confirm = התממה עכשיו של { $count ->
    [one] הלקוח הזה
   *[other] { $count } הלקוחות האלה
}
retention-off = לא נקבעה תקופת שמירה: דבר לא יוסר.
retention-done = { $count ->
    [one] לקוח אחד עבר התממה.
   *[other] { $count } לקוחות עברו התממה.
}
err-user-username-taken = שם המשתמש { $username } תפוס.
err-user-username-length = שם משתמש הוא בן 1 עד 64 תווים.
err-user-username-characters = שם משתמש יכול להכיל אותיות, ספרות ו־. _ - @ בלבד.
err-user-branch-missing = תפקיד זה עובד בסניף אחד: בחרו אותו.
err-user-last-admin = זהו מנהל המערכת הפעיל האחרון: יש להוסיף אחר קודם.
err-user-role-pos-device = קופות מקבלות אסימוני API, לא חשבונות משתמש.
err-user-not-found = אין משתמש כזה.
err-password-too-short = הסיסמה חייבת להכיל { $min } תווים לפחות.
err-password-too-long = הסיסמה יכולה להכיל { $max } תווים לכל היותר.
err-branch-unknown = אין סניף { $branch }.
err-role-unknown = אין תפקיד { $value }.
err-token-name-length = שם אסימון הוא בן 1 עד 100 תווים.
err-token-scope-unknown = אין פעולה { $value }.
err-token-scope-not-granted = לתפקיד { $role } אסור { $scope }.
err-token-not-found = אין אסימון כזה.
err-privacy-retention-out-of-range = תקופת השמירה חייבת להיות מספר שלם של שנים בין 1 ל־{ $max } (או ריקה).
err-form-date-invalid = { $value } אינו תאריך (שנה-חודש-יום).
err-form-number-invalid = { $value } אינו מספר שלם.
## The analytics page
nav-analytics = אנליטיקה
flash-refresh-started = הרענון התחיל; ההתקדמות מוצגת למטה.
an-running-title = מרעננים את הניתוח
an-running = שלב { $n } מתוך { $count }: { $step }
an-queued = הרענון ממתין להתחיל.
an-progress-label = התקדמות הרענון
an-reload = טענו מחדש כדי לראות את ההתקדמות
an-empty-title = עדיין אין ניתוח
an-empty-body = הריצו את הניתוח כדי לראות כאן את התאמת המודל, את בדיקתו מול תקופת ביקורת, את רשת ה-RFM, את שכבות הערך ואת כללי הסל.
an-refresh = רענון עכשיו
an-refresh-title = הרענון האחרון
an-ran-at = רץ ב־
an-as-of = מתאר את המכירות עד
an-model = המודל שנבחר
an-scored = לקוחות שדורגו
an-customers = לקוחות
an-transactions = מכירות שנקראו
an-duration = משך
an-seconds = { $n } שנ׳
an-fit-title = התאמת המודל
an-params = הפרמטרים של { $model }
an-no-model = לא ניתן היה להתאים מודל רכישות למכירות האלה: הסולם עוקב אחר קצב הקנייה של כל לקוח בלבד, והשכבות מדורגות לפי ההכנסה עד כה.
an-spend-params = מודל ההוצאה (גמא-גמא)
an-attempts = המודלים שנוסו
col-parameter = פרמטר
col-model = מודל
col-outcome = תוצאה
col-log-likelihood = לוג-נראות
col-iterations = איטרציות
col-seconds = שניות
col-mae = שגיאה בתקופת הביקורת (MAE)
model-bgnbd = BG/NBD
model-pareto-nbd = Pareto/NBD
model-mbgnbd = MBG/NBD
model-gamma-gamma = גמא-גמא
model-none = אין
outcome-converged = התכנס
outcome-budget-exhausted = נגמר הזמן
outcome-not-identifiable = לא ניתן לזיהוי
outcome-failed = נכשל
an-holdout-title = כיול מול תקופת ביקורת
an-holdout-about = { $model } מותאם למכירות עד { $date } ומושווה למה שעשו { $customers } הלקוחות של אותה תקופה ב־{ $periods } שאחריה (הרבע האחרון של הזמן הנצפה).
an-holdout-window = כיול עד { $from }, ביקורת עד { $to }
an-models-compared = השוואת המודלים על תקופת הכיול
an-holdout-params = { $model } כפי שהותאם לתקופת הכיול
an-holdout-none = אין בדיקה מול תקופת ביקורת ברענון הזה: המכירות משתרעות על זמן קצר מדי, או שלא ניתן היה להתאים מודל לתקופת הכיול.
an-weeks = { $n ->
    [one] שבוע אחד
    [two] שבועיים
   *[other] { $shown } שבועות
}
an-days = { $n ->
    [one] יום אחד
    [two] יומיים
   *[other] { $shown } ימים
}
an-axis-weeks = שבועות מאז הרכישה הראשונה
an-axis-days = ימים מאז הרכישה הראשונה
an-point = { $at }: בפועל { $actual }, צפוי { $expected }
series-actual = בפועל
series-expected = צפוי לפי המודל
an-cumulative = רכישות חוזרות לאורך זמן, בפועל וצפוי
an-by-frequency = רכישות בתקופת הביקורת לפי הרכישות בתקופת הכיול
col-frequency = רכישות חוזרות (כיול)
col-holdout-actual = רכישות בביקורת, בפועל (ממוצע)
col-holdout-expected = רכישות בביקורת, צפוי (ממוצע)
an-rfm-title = רשת RFM: עדכניות לפי תדירות
an-rfm-about = מספר הלקוחות בכל תא וההכנסה הממוצעת שלהם; עדכניות 5 קנו לאחרונה, תדירות 5 קונים לעתים הקרובות ביותר.
an-rfm-cell = עדכניות { $r }, תדירות { $f }: { $customers } לקוחות, הכנסה ממוצעת { $value }
col-recency-score = R{ $r }
col-frequency-score = F{ $f }
col-recency = עדכניות
col-frequency-header = תדירות
col-mean-revenue = הכנסה ממוצעת
an-tiers-by-clv = הלקוחות מדורגים לפי ערך חיי הלקוח.
an-tiers-by-revenue = הלקוחות מדורגים לפי ההכנסה עד כה (לא ניתן היה להעריך ערך חיי לקוח).
an-rules-title = כללי סל
an-rules-about = { $shown } הכללים החזקים מתוך { $count } על פני { $baskets } סלים (תמיכה לפחות { $support }, ביטחון לפחות { $confidence }).
an-rules-none = אין כללי סל: מעט מדי סלים חולקים מוצרים בספים האלה.
col-if-bought = מי שקונה
col-then = קונה גם
col-support = תמיכה
col-confidence = ביטחון
col-lift = הרמה
step-reading-sales = קריאת המכירות
step-summarising-customers = סיכום הלקוחות
step-fitting-the-spend-model = התאמת מודל ההוצאה
step-fitting-the-purchase-model = התאמת מודל הרכישות
step-scoring-customers = דירוג הלקוחות
step-storing-results = שמירת התוצאות
step-checking-the-model-on-a-holdout = בדיקת המודל מול תקופת ביקורת
step-mining-basket-rules = כריית כללי הסל
step-backfilling-the-stage-history = השלמת היסטוריית השלבים
step-refreshing-the-saved-segments = רענון הפלחים השמורים
