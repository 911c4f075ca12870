//! Hebrew, Persian and English names and interaction texts, each in its own script

/// Preferred language of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    He,
    Fa,
    En,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::He => "he",
            Lang::Fa => "fa",
            Lang::En => "en",
        }
    }
}

/// `(native script, Latin transliteration)` pairs.
pub(crate) type Name = (&'static str, &'static str);

pub(crate) const HE_FEMALE: &[Name] = &[
    ("נועה", "noa"),
    ("מאיה", "maya"),
    ("תמר", "tamar"),
    ("שירה", "shira"),
    ("יעל", "yael"),
    ("מיכל", "michal"),
    ("רחל", "rachel"),
    ("אורית", "orit"),
    ("דנה", "dana"),
    ("הילה", "hila"),
    ("רונית", "ronit"),
    ("אביגיל", "avigail"),
    ("שרה", "sara"),
    ("ליאת", "liat"),
    ("עדי", "adi"),
    ("גלית", "galit"),
    ("אסתר", "esther"),
    ("נגה", "noga"),
    ("טליה", "talia"),
    ("רות", "ruth"),
    ("אפרת", "efrat"),
    ("חן", "chen"),
    ("קרן", "keren"),
    ("לימור", "limor"),
    ("סיון", "sivan"),
    ("ענבל", "inbal"),
    ("מורן", "moran"),
    ("שני", "shani"),
    ("אילנה", "ilana"),
    ("חנה", "hana"),
    ("לאה", "leah"),
    ("רבקה", "rivka"),
    ("זהבה", "zehava"),
    ("ורד", "vered"),
    ("אלה", "ella"),
];

pub(crate) const HE_MALE: &[Name] = &[
    ("יוסי", "yossi"),
    ("דוד", "david"),
    ("משה", "moshe"),
    ("אברהם", "avraham"),
    ("יונתן", "yonatan"),
    ("איתי", "itai"),
    ("עומר", "omer"),
    ("אורי", "uri"),
    ("דניאל", "daniel"),
    ("אריאל", "ariel"),
    ("נועם", "noam"),
    ("איתן", "eitan"),
    ("גיל", "gil"),
    ("רון", "ron"),
    ("עמית", "amit"),
    ("יעקב", "yaakov"),
    ("שמעון", "shimon"),
    ("אליהו", "eliyahu"),
    ("אלון", "alon"),
    ("תומר", "tomer"),
    ("אליעזר", "eliezer"),
    ("חיים", "haim"),
    ("שלמה", "shlomo"),
    ("בנימין", "binyamin"),
    ("אהרון", "aharon"),
    ("מאיר", "meir"),
    ("צבי", "tzvi"),
    ("יגאל", "yigal"),
    ("ניר", "nir"),
    ("עידו", "ido"),
    ("אסף", "asaf"),
    ("רועי", "roy"),
    ("שי", "shai"),
    ("אביב", "aviv"),
    ("זיו", "ziv"),
];

pub(crate) const HE_LAST: &[Name] = &[
    ("כהן", "cohen"),
    ("לוי", "levi"),
    ("מזרחי", "mizrahi"),
    ("פרץ", "peretz"),
    ("ביטון", "biton"),
    ("דהן", "dahan"),
    ("אברהם", "avraham"),
    ("פרידמן", "friedman"),
    ("אזולאי", "azulay"),
    ("מלכה", "malka"),
    ("כץ", "katz"),
    ("שפירא", "shapira"),
    ("גבאי", "gabay"),
    ("אוחיון", "ohayon"),
    ("חדד", "hadad"),
    ("יוסף", "yosef"),
    ("בן דוד", "bendavid"),
    ("אשכנזי", "ashkenazi"),
    ("רוזנברג", "rosenberg"),
    ("שלום", "shalom"),
    ("גולדברג", "goldberg"),
    ("עמר", "amar"),
    ("ויס", "weiss"),
    ("סגל", "segal"),
    ("נחום", "nahum"),
    ("אלון", "alon"),
    ("ברק", "barak"),
    ("גרינברג", "greenberg"),
    ("הלוי", "halevi"),
    ("וקנין", "vaknin"),
    ("זילברמן", "zilberman"),
    ("חזן", "hazan"),
    ("טל", "tal"),
    ("יצחקי", "yitzhaki"),
    ("לנדאו", "landau"),
    ("מור", "mor"),
    ("נגר", "nagar"),
    ("סויסה", "swisa"),
    ("עזרא", "ezra"),
    ("פולק", "pollak"),
    ("צור", "tzur"),
    ("קליין", "klein"),
    ("רבינוביץ", "rabinovich"),
    ("שטרן", "stern"),
    ("אוחנה", "ohana"),
];

pub(crate) const FA_FEMALE: &[Name] = &[
    ("مریم", "maryam"),
    ("زهرا", "zahra"),
    ("فاطمه", "fatemeh"),
    ("سارا", "sara"),
    ("نگار", "negar"),
    ("شیرین", "shirin"),
    ("لیلا", "leila"),
    ("پریسا", "parisa"),
    ("نسرین", "nasrin"),
    ("مهسا", "mahsa"),
    ("یاسمن", "yasaman"),
    ("کیمیا", "kimia"),
    ("الهه", "elaheh"),
    ("ستاره", "setareh"),
    ("آزاده", "azadeh"),
    ("ترانه", "taraneh"),
    ("رویا", "roya"),
    ("پروانه", "parvaneh"),
    ("نازنین", "nazanin"),
    ("سمیرا", "samira"),
    ("گلناز", "golnaz"),
    ("مینا", "mina"),
    ("شهرزاد", "shahrzad"),
    ("فرشته", "fereshteh"),
    ("بهاره", "bahareh"),
    ("نیلوفر", "niloufar"),
    ("سپیده", "sepideh"),
    ("هانیه", "hanieh"),
    ("مژگان", "mojgan"),
    ("طاهره", "tahereh"),
];

pub(crate) const FA_MALE: &[Name] = &[
    ("علی", "ali"),
    ("محمد", "mohammad"),
    ("رضا", "reza"),
    ("حسین", "hossein"),
    ("مهدی", "mehdi"),
    ("امیر", "amir"),
    ("کامران", "kamran"),
    ("بهرام", "bahram"),
    ("داریوش", "dariush"),
    ("کوروش", "kourosh"),
    ("فرهاد", "farhad"),
    ("سیاوش", "siavash"),
    ("یوسف", "yousef"),
    ("بابک", "babak"),
    ("پیمان", "peyman"),
    ("کیوان", "keyvan"),
    ("مهرداد", "mehrdad"),
    ("نیما", "nima"),
    ("حمید", "hamid"),
    ("سعید", "saeed"),
    ("مجید", "majid"),
    ("جواد", "javad"),
    ("اکبر", "akbar"),
    ("شهرام", "shahram"),
    ("آرش", "arash"),
    ("سینا", "sina"),
    ("میلاد", "milad"),
    ("پویا", "pouya"),
    ("کاوه", "kaveh"),
    ("بیژن", "bijan"),
];

pub(crate) const FA_LAST: &[Name] = &[
    ("احمدی", "ahmadi"),
    ("محمدی", "mohammadi"),
    ("حسینی", "hosseini"),
    ("رضایی", "rezaei"),
    ("کریمی", "karimi"),
    ("موسوی", "mousavi"),
    ("جعفری", "jafari"),
    ("کاظمی", "kazemi"),
    ("رحیمی", "rahimi"),
    ("صادقی", "sadeghi"),
    ("یزدانی", "yazdani"),
    ("کرمانی", "kermani"),
    ("شریفی", "sharifi"),
    ("نیکزاد", "nikzad"),
    ("تهرانی", "tehrani"),
    ("فرهادی", "farhadi"),
    ("کیانی", "kiani"),
    ("ملکی", "maleki"),
    ("یعقوبی", "yaghoubi"),
    ("حکیمی", "hakimi"),
    ("نوری", "nouri"),
    ("قاسمی", "ghasemi"),
    ("اکبری", "akbari"),
    ("زارعی", "zarei"),
    ("شیرازی", "shirazi"),
    ("اصفهانی", "esfahani"),
    ("بهرامی", "bahrami"),
    ("پورمحمدی", "pourmohammadi"),
    ("نجفی", "najafi"),
    ("کامرانی", "kamrani"),
    ("ابراهیمی", "ebrahimi"),
    ("طاهری", "taheri"),
    ("سلیمانی", "soleimani"),
    ("افشار", "afshar"),
    ("میرزایی", "mirzaei"),
];

pub(crate) const EN_FEMALE: &[Name] = &[
    ("Emily", "emily"),
    ("Sarah", "sarah"),
    ("Jessica", "jessica"),
    ("Hannah", "hannah"),
    ("Olivia", "olivia"),
    ("Rebecca", "rebecca"),
    ("Laura", "laura"),
    ("Rachel", "rachel"),
    ("Anna", "anna"),
    ("Emma", "emma"),
    ("Grace", "grace"),
    ("Sophie", "sophie"),
    ("Claire", "claire"),
    ("Natalie", "natalie"),
    ("Chloe", "chloe"),
    ("Lucy", "lucy"),
    ("Megan", "megan"),
    ("Amy", "amy"),
    ("Alice", "alice"),
    ("Julia", "julia"),
    ("Katherine", "katherine"),
    ("Victoria", "victoria"),
    ("Abigail", "abigail"),
    ("Lily", "lily"),
    ("Ella", "ella"),
];

pub(crate) const EN_MALE: &[Name] = &[
    ("James", "james"),
    ("Michael", "michael"),
    ("David", "david"),
    ("Daniel", "daniel"),
    ("Benjamin", "benjamin"),
    ("Jonathan", "jonathan"),
    ("Adam", "adam"),
    ("Samuel", "samuel"),
    ("Ethan", "ethan"),
    ("Nathan", "nathan"),
    ("Matthew", "matthew"),
    ("Joshua", "joshua"),
    ("Aaron", "aaron"),
    ("Simon", "simon"),
    ("Thomas", "thomas"),
    ("William", "william"),
    ("Alexander", "alexander"),
    ("Jacob", "jacob"),
    ("Ryan", "ryan"),
    ("Andrew", "andrew"),
    ("Noah", "noah"),
    ("Oliver", "oliver"),
    ("Henry", "henry"),
    ("Jack", "jack"),
    ("Luke", "luke"),
];

pub(crate) const EN_LAST: &[Name] = &[
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Brown", "brown"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Wilson", "wilson"),
    ("Taylor", "taylor"),
    ("Anderson", "anderson"),
    ("Thomas", "thomas"),
    ("Moore", "moore"),
    ("Clark", "clark"),
    ("Lewis", "lewis"),
    ("Walker", "walker"),
    ("Green", "green"),
    ("Baker", "baker"),
    ("Cooper", "cooper"),
    ("Goldstein", "goldstein"),
    ("Rosen", "rosen"),
    ("Harris", "harris"),
    ("Martin", "martin"),
    ("White", "white"),
    ("Young", "young"),
    ("King", "king"),
    ("Wright", "wright"),
    ("Hill", "hill"),
    ("Scott", "scott"),
    ("Adams", "adams"),
    ("Nelson", "nelson"),
    ("Carter", "carter"),
    ("Fisher", "fisher"),
];

/// First-name and last-name tables for a language and gender (`female` = true).
pub(crate) fn tables(lang: Lang, female: bool) -> (&'static [Name], &'static [Name]) {
    match (lang, female) {
        (Lang::He, true) => (HE_FEMALE, HE_LAST),
        (Lang::He, false) => (HE_MALE, HE_LAST),
        (Lang::Fa, true) => (FA_FEMALE, FA_LAST),
        (Lang::Fa, false) => (FA_MALE, FA_LAST),
        (Lang::En, true) => (EN_FEMALE, EN_LAST),
        (Lang::En, false) => (EN_MALE, EN_LAST),
    }
}

/// Distributors and other intermediary accounts: `(name, branch index)`.
pub(crate) const INTERMEDIARIES: [(&str, usize); 10] = [
    ("Galil Foods Distribution Ltd", 1),
    ("Dan Office Catering", 0),
    ("پخش البرز", 2),
    ("Carmel Kiosks Network", 1),
    ("קייטרינג שף לאירועים בע״מ", 0),
    ("Sharon Coffee Corners", 0),
    ("بازرگانی پارس", 2),
    ("Krayot Grocery Wholesale", 1),
    ("Yarkon Event Services", 0),
    ("Vanak Cafe Supply", 2),
];

/// Interaction kinds as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Visit,
    Call,
    Inquiry,
    Complaint,
    Compliment,
    Note,
}

impl Kind {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Visit => "visit",
            Kind::Call => "call",
            Kind::Inquiry => "inquiry",
            Kind::Complaint => "complaint",
            Kind::Compliment => "compliment",
            Kind::Note => "note",
        }
    }

    /// Channels this kind arrives through.
    pub(crate) fn channels(self) -> &'static [&'static str] {
        match self {
            Kind::Visit => &["store"],
            Kind::Call => &["phone"],
            Kind::Inquiry => &["web", "phone", "email", "social", "store"],
            Kind::Complaint => &["store", "phone", "email", "web", "social"],
            Kind::Compliment => &["store", "social", "email"],
            Kind::Note => &["store", "phone"],
        }
    }
}

/// Texts for an interaction kind in a language.
pub(crate) fn texts(kind: Kind, lang: Lang) -> &'static [&'static str] {
    match (kind, lang) {
        (Kind::Complaint, Lang::En) => &[
            "Coffee beans were stale",
            "Long queue at the checkout",
            "Charged twice for the same item",
            "Bread was sold out again",
            "Staff at the counter was rude",
            "Product was past its expiry date",
            "Delivery arrived late",
            "Shelf price differed from the price at the till",
        ],
        (Kind::Complaint, Lang::He) => &[
            "פולי הקפה לא היו טריים",
            "התור בקופה היה ארוך מדי",
            "חויבתי פעמיים על אותו מוצר",
            "הלחם שוב אזל",
            "המוכר בדלפק היה לא אדיב",
            "המוצר היה אחרי תאריך התפוגה",
            "המשלוח הגיע באיחור",
            "המחיר על המדף היה שונה מהמחיר בקופה",
        ],
        (Kind::Complaint, Lang::Fa) => &[
            "دانه‌های قهوه تازه نبودند",
            "صف صندوق خیلی طولانی بود",
            "برای یک کالا دو بار از من پول گرفتند",
            "نان دوباره تمام شده بود",
            "فروشنده پشت پیشخوان بی‌ادب بود",
            "تاریخ مصرف کالا گذشته بود",
            "سفارش دیر رسید",
            "قیمت روی قفسه با قیمت صندوق فرق داشت",
        ],
        (Kind::Compliment, Lang::En) => &[
            "Great service from the staff",
            "Loved the new sourdough",
            "Very helpful advice on coffee",
            "Clean and pleasant store",
        ],
        (Kind::Compliment, Lang::He) => &[
            "שירות מצוין מהצוות",
            "הלחם החדש מעולה",
            "קיבלתי ייעוץ מצוין על קפה",
            "חנות נקייה ונעימה",
        ],
        (Kind::Compliment, Lang::Fa) => &[
            "برخورد کارکنان عالی بود",
            "نان جدید خیلی خوشمزه بود",
            "درباره قهوه مشاوره خیلی خوبی گرفتم",
            "فروشگاه تمیز و دلپذیر است",
        ],
        (Kind::Inquiry, Lang::En) => &[
            "Asked about gluten free products",
            "Is the espresso blend back in stock?",
            "Question about loyalty points",
            "Asked about opening hours on holidays",
            "Wants to order a gift box",
        ],
        (Kind::Inquiry, Lang::He) => &[
            "שאלה על מוצרים ללא גלוטן",
            "האם תערובת האספרסו חזרה למלאי?",
            "שאלה על נקודות במועדון",
            "שאלה על שעות הפתיחה בחג",
            "רוצה להזמין מארז מתנה",
        ],
        (Kind::Inquiry, Lang::Fa) => &[
            "درباره محصولات بدون گلوتن پرسید",
            "آیا قهوه اسپرسو دوباره موجود است؟",
            "سؤال درباره امتیاز باشگاه مشتریان",
            "ساعت کاری روزهای تعطیل را پرسید",
            "می‌خواهد یک جعبه هدیه سفارش دهد",
        ],
        (Kind::Visit, Lang::En) => &[
            "Came to the tasting evening",
            "Browsed the new kitchenware",
            "Picked up a pre-order",
        ],
        (Kind::Visit, Lang::He) => &["הגיע לערב טעימות", "התעניין בכלי המטבח החדשים", "אסף הזמנה מראש"],
        (Kind::Visit, Lang::Fa) => &[
            "در شب چشیدن قهوه شرکت کرد",
            "ظروف آشپزخانه جدید را دید",
            "سفارش قبلی را تحویل گرفت",
        ],
        (Kind::Call, Lang::En) => &[
            "Called about a missing item in the order",
            "Follow-up call after a complaint",
            "Called to reserve an order for the weekend",
        ],
        (Kind::Call, Lang::He) => &[
            "התקשר בנוגע לפריט חסר בהזמנה",
            "שיחת מעקב אחרי תלונה",
            "התקשר לשריין הזמנה לסוף השבוע",
        ],
        (Kind::Call, Lang::Fa) => &[
            "درباره کالای جاافتاده در سفارش تماس گرفت",
            "تماس پیگیری پس از شکایت",
            "برای رزرو سفارش آخر هفته تماس گرفت",
        ],
        (Kind::Note, Lang::En) => &[
            "Prefers oat milk",
            "Allergic to nuts",
            "Buys for an office",
            "Interested in wine tastings",
        ],
        (Kind::Note, Lang::He) => &[
            "מעדיף חלב שיבולת שועל",
            "אלרגי לאגוזים",
            "קונה עבור משרד",
            "מתעניין בטעימות יין",
        ],
        (Kind::Note, Lang::Fa) => &[
            "شیر جو دوسر را ترجیح می‌دهد",
            "به آجیل حساسیت دارد",
            "برای دفتر کار خرید می‌کند",
            "به قهوه‌های تک‌خاستگاه علاقه دارد",
        ],
    }
}

/// Replaces Persian yeh and keheh with their Arabic look-alikes (a common data-entry variant).
pub(crate) fn arabic_letters(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{06CC}' => '\u{064A}',
            '\u{06A9}' => '\u{0643}',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_persian() -> Vec<&'static str> {
        let mut v: Vec<&str> = FA_FEMALE.iter().chain(FA_MALE).chain(FA_LAST).map(|n| n.0).collect();
        for kind in [
            Kind::Visit,
            Kind::Call,
            Kind::Inquiry,
            Kind::Complaint,
            Kind::Compliment,
            Kind::Note,
        ] {
            v.extend_from_slice(texts(kind, Lang::Fa));
        }
        v.extend(INTERMEDIARIES.iter().filter(|i| i.1 == 2).map(|i| i.0));
        v
    }

    #[test]
    fn persian_uses_persian_yeh_and_keheh() {
        for s in all_persian() {
            assert!(!s.contains('\u{064A}') && !s.contains('\u{0643}'), "{s}");
        }
        let with_yeh = all_persian().iter().filter(|s| s.contains('\u{06CC}')).count();
        let with_keheh = all_persian().iter().filter(|s| s.contains('\u{06A9}')).count();
        assert!(with_yeh > 10 && with_keheh > 5);
        assert_eq!(arabic_letters("کریمی"), "\u{0643}\u{0631}\u{064A}\u{0645}\u{064A}");
    }

    #[test]
    fn scripts_match_languages() {
        let hebrew = |s: &str| s.chars().all(|c| c == ' ' || ('\u{05D0}'..='\u{05EA}').contains(&c));
        for n in HE_FEMALE.iter().chain(HE_MALE).chain(HE_LAST) {
            assert!(hebrew(n.0), "{}", n.0);
            assert!(n.1.bytes().all(|b| b.is_ascii_lowercase()), "{}", n.1);
        }
        for n in FA_FEMALE.iter().chain(FA_MALE).chain(FA_LAST) {
            assert!(n.0.chars().all(|c| ('\u{0600}'..='\u{06FF}').contains(&c)), "{}", n.0);
            assert!(n.1.bytes().all(|b| b.is_ascii_lowercase()), "{}", n.1);
        }
        for n in EN_FEMALE.iter().chain(EN_MALE).chain(EN_LAST) {
            assert!(n.0.is_ascii() && n.1.bytes().all(|b| b.is_ascii_lowercase()));
        }
    }
}
