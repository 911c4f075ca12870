use super::*;
use proptest::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;

/// A record from a name → value map; names not in the map are missing.
#[derive(Default)]
struct Rec {
    values: HashMap<String, Value<'static>>,
}

impl Rec {
    fn with(mut self, name: &str, v: Value<'static>) -> Rec {
        self.values.insert(name.to_string(), v);
        self
    }
}

impl Record for Rec {
    fn value(&self, field: &FieldId) -> Value<'_> {
        self.values.get(&field.name()).cloned().unwrap_or(Value::Missing)
    }
}

fn text(s: &'static str) -> Value<'static> {
    Value::Text(Cow::Borrowed(s))
}

fn date(s: &str) -> jiff::civil::Date {
    s.parse().unwrap_or_default()
}

fn matches(src: &str, r: &Rec) -> bool {
    match Segment::parse(src) {
        Ok(s) => s.matches(r),
        Err(e) => panic!("{src}: {e}"),
    }
}

fn error(src: &str) -> Error {
    match Segment::parse(src) {
        Ok(s) => panic!("{src} parsed as {s}"),
        Err(e) => e,
    }
}

fn core_customer() -> Rec {
    Rec::default()
        .with("stage", text("core"))
        .with("clv", Value::Number(812.5))
        .with("consent.sms", Value::Bool(true))
        .with("consent.email", Value::Bool(false))
        .with("city", text("Tel Aviv"))
        .with("last_purchase", Value::Date(date("2026-10-02")))
        .with("attributes.pet", text("dog"))
        .with("attributes.kids", Value::Number(2.0))
        .with("email", text("a@b.c"))
}

#[test]
fn selects_by_stage_value_and_consent() {
    let c = core_customer();
    assert!(matches(
        r#"stage in ("core", "at_risk") and clv >= 500 and consent.sms"#,
        &c
    ));
    assert!(!matches(r#"stage in ("core", "at_risk") and clv >= 1000"#, &c));
    assert!(!matches("consent.email", &c));
    assert!(matches("not consent.email", &c));
    assert!(
        matches(r#"STAGE = "CORE""#, &c),
        "keywords, names and text compare without case"
    );
    assert!(matches(r#"city ~ "aviv" and city != "Haifa""#, &c));
    assert!(matches(
        "last_purchase >= 2026-10-01 and last_purchase < 2026-11-01",
        &c
    ));
    assert!(matches("clv between 800 and 900", &c));
    assert!(!matches("clv between 900 and 1000", &c));
    assert!(matches(r#"attributes.pet = "dog" and attributes.kids >= 2"#, &c));
    assert!(matches(r#"email is set and phone is not set"#, &c));
    assert!(matches(r#"stage not in ("prospect", "defected")"#, &c));
    assert!(matches("true", &c));
    assert!(!matches("false or clv < -1", &c));
}

#[test]
fn missing_values_are_unknown_not_false() {
    let prospect = Rec::default().with("stage", text("prospect"));
    // No CLV: neither `clv > 100` nor its negation selects the customer.
    assert!(!matches("clv > 100", &prospect));
    assert!(!matches("not clv > 100", &prospect));
    assert!(!matches("not (clv > 100)", &prospect));
    // Unknown or true is true; unknown and false is false.
    assert!(matches(r#"clv > 100 or stage = "prospect""#, &prospect));
    assert!(!matches(
        r#"not (clv > 100 and stage = "core")"#,
        &Rec::default().with("stage", text("core"))
    ));
    assert!(matches(r#"not (clv > 100 and stage = "core")"#, &prospect));
    assert!(matches("clv is not set", &prospect));
    let seg = Segment::parse("clv > 100").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seg.eval(&prospect), Tri::Unknown);
}

#[test]
fn sets_answer_has_any_all() {
    static BOUGHT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let bought = BOUGHT.get_or_init(|| vec!["Coffee".to_string(), "Pastry".to_string()]);
    let r = Rec::default().with("categories", Value::Set(bought.as_slice()));
    assert!(matches(r#"categories has "coffee""#, &r));
    assert!(!matches(r#"categories has "tea""#, &r));
    assert!(matches(r#"categories has "coffee" and not categories has "tea""#, &r));
    assert!(matches(r#"categories has any ("tea", "pastry")"#, &r));
    assert!(!matches(r#"categories has all ("tea", "pastry")"#, &r));
    assert!(matches(r#"categories has all ("coffee", "pastry")"#, &r));
    assert!(matches("categories is set", &r));
}

#[test]
fn errors_name_the_column_and_the_reason() {
    let e = error("stage = \"core\" and clvv > 3");
    assert_eq!(e.column, 20);
    assert_eq!(
        e.message,
        "unknown field `clvv` (did you mean `clv`?); see the field list in docs/segments.md"
    );
    let e = error("clv > \"high\"");
    assert_eq!(
        (e.column, e.message.as_str()),
        (7, "`clv` is a number, but \"high\" is a text")
    );
    let e = error("email = \"a@b.c\"");
    assert_eq!(e.column, 7);
    assert!(e.message.contains("personal identifier"), "{e}");
    let e = error("categories = \"tea\"");
    assert!(e.message.contains("is a set"), "{e}");
    let e = error("(stage = \"core\"");
    assert_eq!(
        e.to_string(),
        "column 16: expected `)` to close the `(` at column 1, found the end of the expression"
    );
    assert_eq!(error("").message, "the expression is empty");
    assert_eq!(
        error("stage = \"core").message,
        "unterminated text: a closing quote is missing"
    );
    assert_eq!(error("clv between 10 and 5").column, 13);
    assert_eq!(error("stage").column, 6);
    assert_eq!(
        error("clv > 3 stage").message,
        "expected `and`, `or` or the end, found `stage`"
    );
    assert_eq!(
        error("last_purchase > 2026-13-01").message,
        "`2026-13-01` is not a date (write YYYY-MM-DD)"
    );
    assert!(error("clv ! 3").message.contains("`not`"));
    assert_eq!(
        error("consent.sms < true").message,
        "true/false cannot be ordered with `<`"
    );
    assert_eq!(error("and").message, "expected a field name, found the keyword `and`");
    let deep = format!("{}true{}", "(".repeat(100), ")".repeat(100));
    assert!(error(&deep).message.contains("nests deeper"));
    assert!(error(&"not ".repeat(100)).message.contains("nests deeper"));
    assert!(error(&"x".repeat(MAX_LEN + 1)).message.contains("longer than"));
}

#[test]
fn canonical_text_parses_back() {
    for src in [
        r#"stage in ("core", "at_risk") and clv >= 500 or not consent.sms"#,
        r#"`attributes.favourite drink` = "tea \"green\"" and attributes.VIP"#,
        "clv between -5 and 7.25 and last_purchase <= 2026-01-31",
        r#"categories has any ("a", "b") and products has all ("x") and branches has "b1""#,
        "not not (email is set and phone is not set)",
        r#"attributes.שפה = "עברית""#,
    ] {
        let a = Segment::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let printed = a.to_string();
        let b = Segment::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert_eq!(a, b, "{src} → {printed}");
    }
    let s = Segment::parse("attributes.VIP").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.fields(),
        &[FieldId::Attribute("VIP".into())],
        "attribute keys keep their case"
    );
}

#[test]
fn needs_tells_which_data_to_load() {
    let s = Segment::parse(r#"stage = "core" and nbo.category = "tea""#).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.needs(Source::Scores) && s.needs(Source::Offer));
    assert!(!s.needs(Source::Purchases) && !s.needs(Source::Profile));
    assert!(Segment::parse("age > 30").is_ok_and(|s| s.needs(Source::Profile)));
}

#[test]
fn every_field_has_a_distinct_name_and_a_description() {
    for (i, f) in FIELDS.iter().enumerate() {
        assert!(!f.doc.is_empty(), "{}", f.name);
        assert_eq!(FieldId::lookup(f.name), Some(FieldId::Known(i)), "{}", f.name);
        assert!(!parser::is_keyword(f.name), "{}", f.name);
    }
}

// ---- fuzzing (property tests, bounded, run in CI) ----

fn arb_field() -> impl Strategy<Value = FieldId> {
    prop_oneof![
        (0..FIELDS.len()).prop_map(FieldId::Known),
        "[a-zA-Z_א-ת][a-zA-Z0-9_ .`\"-]{0,8}".prop_map(FieldId::Attribute),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"'\\\\\n\tשפ-]{0,8}"
}

fn arb_literal(ty: Type) -> BoxedStrategy<Literal> {
    let num = (-1e9f64..1e9).prop_map(Literal::Number);
    let txt = arb_text().prop_map(Literal::Text);
    let date = (1900i16..2100, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Literal::Date(jiff::civil::date(y, m, d)));
    match ty {
        Type::Number => num.boxed(),
        Type::Text => txt.boxed(),
        Type::Date => date.boxed(),
        Type::Bool => any::<bool>().prop_map(Literal::Bool).boxed(),
        _ => prop_oneof![num, txt, any::<bool>().prop_map(Literal::Bool)].boxed(),
    }
}

/// A well-typed predicate on `field`.
fn arb_predicate(field: FieldId) -> BoxedStrategy<Expr> {
    let ty = field.ty();
    let f = field.clone();
    let is_set = any::<bool>().prop_map(move |negated| Expr::IsSet {
        field: f.clone(),
        negated,
    });
    match ty {
        Type::Presence => is_set.boxed(),
        Type::TextSet => {
            let f = field.clone();
            let has = (0..3usize, proptest::collection::vec(arb_text(), 1..4)).prop_map(move |(m, values)| {
                let (mode, values) = match m {
                    0 => (HasMode::One, values[..1].to_vec()),
                    1 => (HasMode::Any, values),
                    _ => (HasMode::All, values),
                };
                Expr::Has {
                    field: f.clone(),
                    mode,
                    values,
                }
            });
            prop_oneof![is_set, has].boxed()
        }
        _ => {
            let f1 = field.clone();
            let f2 = field.clone();
            let ops: Vec<CmpOp> = match ty {
                Type::Bool => vec![CmpOp::Eq, CmpOp::Ne],
                _ => vec![CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge],
            };
            let cmp = (proptest::sample::select(ops), arb_literal(ty)).prop_filter_map("typed", move |(op, value)| {
                let ordered = !matches!(op, CmpOp::Eq | CmpOp::Ne);
                (!(ordered && matches!(value, Literal::Bool(_)))).then(|| Expr::Cmp {
                    field: f1.clone(),
                    op,
                    value,
                })
            });
            let list =
                (any::<bool>(), proptest::collection::vec(arb_literal(ty), 1..4)).prop_map(move |(negated, values)| {
                    Expr::In {
                        field: f2.clone(),
                        negated,
                        values,
                    }
                });
            let mut options: Vec<BoxedStrategy<Expr>> = vec![is_set.boxed(), cmp.boxed(), list.boxed()];
            if matches!(ty, Type::Bool | Type::Any) {
                options.push(Just(Expr::Truthy(field.clone())).boxed());
            }
            if matches!(ty, Type::Text | Type::Any) {
                let f3 = field.clone();
                options.push(
                    arb_text()
                        .prop_map(move |t| Expr::Cmp {
                            field: f3.clone(),
                            op: CmpOp::Contains,
                            value: Literal::Text(t),
                        })
                        .boxed(),
                );
            }
            if matches!(ty, Type::Number | Type::Date) {
                let f4 = field.clone();
                options.push(
                    (arb_literal(ty), arb_literal(ty))
                        .prop_map(move |(a, b)| {
                            let (low, high) = match (&a, &b) {
                                (Literal::Number(x), Literal::Number(y)) if x > y => (b, a),
                                (Literal::Date(x), Literal::Date(y)) if x > y => (b, a),
                                _ => (a, b),
                            };
                            Expr::Between {
                                field: f4.clone(),
                                low,
                                high,
                            }
                        })
                        .boxed(),
                );
            }
            proptest::strategy::Union::new(options).boxed()
        }
    }
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Expr::Const),
        arb_field().prop_flat_map(arb_predicate),
        arb_field().prop_flat_map(arb_predicate),
        arb_field().prop_flat_map(arb_predicate),
    ];
    leaf.prop_recursive(6, 40, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn arb_value() -> BoxedStrategy<Value<'static>> {
    static SET: [String; 3] = [String::new(), String::new(), String::new()];
    prop_oneof![
        Just(Value::Missing),
        any::<f64>().prop_map(Value::Number),
        arb_text().prop_map(|t| Value::Text(Cow::Owned(t))),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Date(jiff::civil::date(2026, 1, 1))),
        Just(Value::Set(&SET[..])),
    ]
    .boxed()
}

/// A record that answers every field with the value drawn for it (any kind, any field).
struct AnyRec(Vec<Value<'static>>);

impl Record for AnyRec {
    fn value(&self, field: &FieldId) -> Value<'_> {
        let i = match field {
            FieldId::Known(i) => *i,
            FieldId::Attribute(k) => k.len(),
        };
        self.0.get(i % self.0.len().max(1)).cloned().unwrap_or(Value::Missing)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any text: parsing never panics, and an error's column lies within the text (or just after).
    #[test]
    fn fuzz_any_text_never_panics(src in "\\PC{0,60}") {
        match Segment::parse(&src) {
            Ok(s) => { let _ = s.to_string(); }
            Err(e) => prop_assert!(e.column >= 1 && e.column <= src.chars().count() + 1, "{src:?}: {e}"),
        }
    }

    /// Text built from the language's own pieces reaches deep into the parser.
    #[test]
    fn fuzz_token_soup_never_panics(words in proptest::collection::vec(prop_oneof![
        Just("stage"), Just("clv"), Just("categories"), Just("attributes.x"), Just("email"), Just("consent.sms"),
        Just("and"), Just("or"), Just("not"), Just("in"), Just("between"), Just("has"), Just("any"), Just("all"),
        Just("is"), Just("set"), Just("true"), Just("false"), Just("("), Just(")"), Just(","), Just("-"),
        Just("="), Just("!="), Just("<"), Just(">="), Just("~"), Just("\"core\""), Just("12.5"), Just("2026-01-01"),
        Just("`q`"), Just("'t'"),
    ], 0..25)) {
        let src = words.join(" ");
        if let Err(e) = Segment::parse(&src) {
            prop_assert!(e.column >= 1 && e.column <= src.chars().count() + 1, "{src:?}: {e}");
        }
    }

    /// Every well-typed tree prints to text that parses back to the same tree.
    #[test]
    fn fuzz_print_parse_round_trip(e in arb_expr()) {
        let text = e.to_string();
        let back = Segment::parse(&text);
        prop_assert!(back.is_ok(), "{text}: {:?}", back.err());
        if let Ok(b) = back {
            prop_assert_eq!(b.expr(), &e, "{}", text);
        }
    }

    /// Evaluation never panics whatever kind of value a record holds, `not` is exact on known
    /// results, and `matches` agrees with `eval`.
    #[test]
    fn fuzz_eval_total(e in arb_expr(), values in proptest::collection::vec(arb_value(), 1..8)) {
        let rec = AnyRec(values);
        let seg = Segment::from_expr(e.clone());
        let t = seg.eval(&rec);
        let n = Segment::from_expr(Expr::Not(Box::new(e))).eval(&rec);
        match t {
            Tri::True => prop_assert_eq!(n, Tri::False),
            Tri::False => prop_assert_eq!(n, Tri::True),
            Tri::Unknown => prop_assert_eq!(n, Tri::Unknown),
        }
        prop_assert_eq!(seg.matches(&rec), t == Tri::True);
    }
}

#[test]
fn errors_carry_a_stable_code_and_the_column_as_a_param() {
    let e = error("clv > 1 x");
    assert_eq!((e.code(), e.column), ("segment.syntax.unexpected_token", 9));
    assert_eq!(e.params()["column"], 9);
    assert_eq!(e.params()["found"], "`x`");
    let e = error("colour = 1");
    assert_eq!(e.code(), "segment.field.unknown");
    assert_eq!(e.params()["name"], "colour");
    // The English text is unchanged.
    assert_eq!(e.to_string(), format!("column 1: {}", e.message));
}
