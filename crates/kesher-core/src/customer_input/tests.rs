use super::*;

struct Known;

impl References for Known {
    type Error = DomainError;
    fn parent(&mut self, value: &str) -> Result<CustomerId, DomainError> {
        match value {
            "P1" => Ok(CustomerId::from_bytes([7; 16])),
            _ => Err(DomainError::new("test.parent", "parent_id", "unknown parent")),
        }
    }
    fn branch(&mut self, value: &str) -> Result<BranchId, DomainError> {
        match value {
            "B1" => Ok(BranchId::from_bytes([8; 16])),
            _ => Err(DomainError::new("test.branch", "branch", "unknown branch")),
        }
    }
    fn employee(&mut self, value: &str, _: Option<BranchId>) -> Result<EmployeeId, DomainError> {
        match value {
            "E1" => Ok(EmployeeId::from_bytes([9; 16])),
            _ => Err(DomainError::new("test.employee", "employee", "unknown employee")),
        }
    }
}

fn ctx(source: InputSource) -> InputContext {
    InputContext {
        country: Country::israel(),
        now: Timestamp::from_second(1_700_000_000).unwrap(),
        source,
    }
}

fn bare() -> Customer {
    Customer::bare(
        CustomerId::from_bytes([1; 16]),
        None,
        Timestamp::from_second(1_600_000_000).unwrap(),
    )
}

fn full() -> CustomerInput<'static> {
    CustomerInput {
        member_no: Some(" M1 "),
        kind: Some("Intermediary"),
        parent: Some("P1"),
        name: Some("  Dana Levi "),
        phone: Some("050-1234567"),
        email: Some("Dana@Example.COM"),
        card: Some("C1"),
        language: Some("HE"),
        birth_date: Some("1990-02-03"),
        gender: Some("female"),
        city: Some(" Haifa "),
        region: Some(" "),
        household_size: Some("3"),
        income_band: Some("B"),
        created_at: None,
        branch: Some("B1"),
        employee: Some("E1"),
        consents: vec![("email", "granted"), ("sms", "withdrawn")],
        attributes: Some(AttributesInput::Text(r#"{"lifestyle":"runner"}"#)),
    }
}

#[test]
fn a_full_input_is_normalised_into_the_record() {
    let mut c = bare();
    build(&mut c, &full(), &ctx(InputSource::Api), &mut Known).unwrap();
    assert_eq!(c.member_no.as_deref(), Some("M1"));
    assert_eq!(c.kind, CustomerKind::Intermediary);
    assert_eq!(c.parent_id, Some(CustomerId::from_bytes([7; 16])));
    assert_eq!(c.name.as_deref(), Some("Dana Levi"));
    assert_eq!(
        c.phone.as_ref().map(|p| p.to_string()).as_deref(),
        Some("+972501234567")
    );
    assert_eq!(
        c.email.as_ref().map(|e| e.to_string()).as_deref(),
        Some("dana@example.com")
    );
    assert_eq!(c.language.as_deref(), Some("he"));
    assert_eq!(c.demographics.city.as_deref(), Some("Haifa"));
    assert_eq!(c.demographics.region, None);
    assert_eq!(c.demographics.household_size, Some(3));
    assert_eq!(c.source_branch, Some(BranchId::from_bytes([8; 16])));
    assert_eq!(c.source_employee, Some(EmployeeId::from_bytes([9; 16])));
    assert_eq!(c.attributes["lifestyle"], "runner");
    assert_eq!(c.consents.len(), 2);
    assert!(
        c.consents
            .iter()
            .all(|k| k.source == "api" && k.at == ctx(InputSource::Api).now)
    );
}

#[test]
fn the_same_input_from_a_file_and_a_body_gives_the_same_record_but_for_the_consent_source() {
    let (mut api, mut file) = (bare(), bare());
    let mut json = full();
    json.attributes = Some(AttributesInput::Json(serde_json::json!({"lifestyle": "runner"})));
    build(&mut api, &json, &ctx(InputSource::Api), &mut Known).unwrap();
    build(&mut file, &full(), &ctx(InputSource::Import), &mut Known).unwrap();
    for k in &mut file.consents {
        assert_eq!(k.source, "import");
        k.source = "api".into();
    }
    assert_eq!(api, file);
}

#[test]
fn errors_name_the_field_as_the_source_spells_it() {
    let mut input = full();
    input.member_no = Some("");
    let api = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    let file = build(&mut bare(), &input, &ctx(InputSource::Import), &mut Known).unwrap_err();
    assert_eq!((api.code, api.field), ("value.empty", "member_no"));
    assert_eq!((file.code, file.field), ("value.empty", "customer_id"));
    let mut input = full();
    input.consents = vec![("sms", "maybe")];
    let api = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    let file = build(&mut bare(), &input, &ctx(InputSource::Import), &mut Known).unwrap_err();
    assert_eq!((api.code, api.field), ("value.unknown", "consents"));
    assert_eq!((file.code, file.field), ("value.unknown", "consent_sms"));
}

#[test]
fn the_first_problem_in_the_documented_order_is_reported() {
    // A bad phone (before the branch) is reported before an unknown branch, an unknown branch
    // before bad attributes (after the employee), an unknown parent before a bad phone.
    let mut input = full();
    input.phone = Some("12");
    input.branch = Some("B9");
    input.attributes = Some(AttributesInput::Text("[1]"));
    let e = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    assert_eq!(e.field, "phone");
    input.phone = None;
    let e = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    assert_eq!(e.code, "test.branch");
    input.branch = None;
    let e = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    assert_eq!(e.code, "customer.attributes.not_an_object");
    input.parent = Some("P9");
    input.phone = Some("12");
    let e = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    assert_eq!(e.code, "test.parent");
}

#[test]
fn household_size_zero_is_too_small_and_text_is_invalid() {
    for (value, code) in [
        ("0", "customer.household_size.too_small"),
        ("two", "customer.household_size.invalid"),
        ("-1", "customer.household_size.invalid"),
    ] {
        let input = CustomerInput {
            household_size: Some(value),
            ..CustomerInput::default()
        };
        let e = build(&mut bare(), &input, &ctx(InputSource::Import), &mut Known).unwrap_err();
        assert_eq!((e.code, e.field), (code, "household_size"), "{value}");
    }
}

#[test]
fn attributes_must_be_an_object_given_as_json_or_as_text() {
    for attributes in [
        AttributesInput::Json(serde_json::json!([1])),
        AttributesInput::Text("\"runner\""),
    ] {
        let input = CustomerInput {
            attributes: Some(attributes),
            ..CustomerInput::default()
        };
        let e = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
        assert_eq!(e.code, "customer.attributes.not_an_object");
    }
    let input = CustomerInput {
        attributes: Some(AttributesInput::Text("{")),
        ..CustomerInput::default()
    };
    let e = build(&mut bare(), &input, &ctx(InputSource::Import), &mut Known).unwrap_err();
    assert_eq!(e.code, "customer.attributes.invalid_json");
}

#[test]
fn an_unchanged_consent_keeps_its_time_and_a_changed_one_takes_now() {
    let mut c = bare();
    let then = Timestamp::from_second(1_650_000_000).unwrap();
    for channel in [ConsentChannel::Email, ConsentChannel::Sms] {
        c.consents.push(Consent {
            channel,
            state: ConsentState::Granted,
            at: then,
            source: "import".into(),
        });
    }
    let input = CustomerInput {
        consents: vec![("email", "granted"), ("sms", "withdrawn")],
        ..CustomerInput::default()
    };
    build(&mut c, &input, &ctx(InputSource::Api), &mut Known).unwrap();
    let email = c.consent(ConsentChannel::Email).unwrap();
    let sms = c.consent(ConsentChannel::Sms).unwrap();
    assert_eq!((email.at, email.source.as_str()), (then, "import"));
    assert_eq!((sms.at, sms.source.as_str()), (ctx(InputSource::Api).now, "api"));
}

#[test]
fn a_given_creation_time_dates_the_record_and_its_consents() {
    let input = CustomerInput {
        created_at: Some("2020-01-02"),
        consents: vec![("email", "granted")],
        ..CustomerInput::default()
    };
    let mut c = bare();
    build(&mut c, &input, &ctx(InputSource::Import), &mut Known).unwrap();
    let at = crate::parse_instant("2020-01-02", "created_at").unwrap();
    assert_eq!(c.created_at, at);
    assert_eq!(c.consents[0].at, at);
}

#[test]
fn a_blank_free_text_value_is_absent_and_a_blank_identifier_is_refused() {
    let input = CustomerInput {
        name: Some("  "),
        phone: Some(""),
        email: Some(" "),
        city: Some(""),
        ..CustomerInput::default()
    };
    let mut c = bare();
    c.name = Some("old".into());
    build(&mut c, &input, &ctx(InputSource::Api), &mut Known).unwrap();
    assert_eq!(
        (c.name, c.phone, c.email, c.demographics.city),
        (None, None, None, None)
    );
    let input = CustomerInput {
        card: Some(" "),
        ..CustomerInput::default()
    };
    let e = build(&mut bare(), &input, &ctx(InputSource::Api), &mut Known).unwrap_err();
    assert_eq!((e.code, e.field), ("value.empty", "card"));
}
