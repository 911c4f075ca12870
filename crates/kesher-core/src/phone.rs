//! Phone numbers normalised to E.164 (`+972501234567`) with a default country for local notation.

use crate::DomainError;
use std::fmt;

/// A country whose local phone notation kesher understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166 alpha-2 code.
    pub code: &'static str,
    /// Country calling code, digits only.
    pub calling_code: &'static str,
    /// Digits dialled before an area code inside the country ("0" in Israel and Iran).
    pub trunk_prefix: &'static str,
    /// Allowed lengths of the national significant number.
    pub nsn_len: (usize, usize),
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "IL",
        calling_code: "972",
        trunk_prefix: "0",
        nsn_len: (8, 9),
    },
    Country {
        code: "IR",
        calling_code: "98",
        trunk_prefix: "0",
        nsn_len: (10, 10),
    },
    Country {
        code: "US",
        calling_code: "1",
        trunk_prefix: "1",
        nsn_len: (10, 10),
    },
    Country {
        code: "CA",
        calling_code: "1",
        trunk_prefix: "1",
        nsn_len: (10, 10),
    },
    Country {
        code: "GB",
        calling_code: "44",
        trunk_prefix: "0",
        nsn_len: (9, 10),
    },
    Country {
        code: "DE",
        calling_code: "49",
        trunk_prefix: "0",
        nsn_len: (6, 13),
    },
    Country {
        code: "FR",
        calling_code: "33",
        trunk_prefix: "0",
        nsn_len: (9, 9),
    },
    Country {
        code: "AE",
        calling_code: "971",
        trunk_prefix: "0",
        nsn_len: (8, 9),
    },
    Country {
        code: "TR",
        calling_code: "90",
        trunk_prefix: "0",
        nsn_len: (10, 10),
    },
];

impl Country {
    /// Look a country up by its ISO 3166 alpha-2 code (case-insensitive).
    pub fn parse(code: &str) -> Result<Country, DomainError> {
        let c = code.trim().to_ascii_uppercase();
        COUNTRIES.iter().find(|k| k.code == c).copied().ok_or_else(|| {
            let known: Vec<&str> = COUNTRIES.iter().map(|k| k.code).collect();
            DomainError::new(
                "country.unknown",
                "country",
                format!("unknown country {code:?}; known: {}", known.join(", ")),
            )
            .with("value", code)
            .with("known", known.join(", "))
        })
    }

    pub fn israel() -> Country {
        COUNTRIES[0]
    }

    /// The country an IANA time zone belongs to (zone.tab's country for the zone), among the
    /// countries kesher knows; `None` for a zone of another country or none (`UTC`).
    pub fn for_time_zone(zone: &str) -> Option<Country> {
        let code = match zone.trim() {
            "Asia/Jerusalem" | "Asia/Tel_Aviv" | "Israel" => "IL",
            "Asia/Tehran" | "Iran" => "IR",
            "Europe/London" | "GB" | "GB-Eire" => "GB",
            "Europe/Berlin" | "Europe/Busingen" => "DE",
            "Europe/Paris" => "FR",
            "Asia/Dubai" => "AE",
            "Europe/Istanbul" | "Asia/Istanbul" | "Turkey" => "TR",
            z if z.starts_with("US/") => "US",
            z if z.starts_with("Canada/") => "CA",
            "America/New_York"
            | "America/Chicago"
            | "America/Denver"
            | "America/Los_Angeles"
            | "America/Phoenix"
            | "America/Anchorage"
            | "America/Adak"
            | "America/Boise"
            | "America/Detroit"
            | "America/Juneau"
            | "America/Sitka"
            | "America/Metlakatla"
            | "America/Yakutat"
            | "America/Nome"
            | "America/Menominee"
            | "Pacific/Honolulu" => "US",
            z if z.starts_with("America/Indiana/")
                || z.starts_with("America/Kentucky/")
                || z.starts_with("America/North_Dakota/") =>
            {
                "US"
            }
            "America/Toronto"
            | "America/Vancouver"
            | "America/Edmonton"
            | "America/Winnipeg"
            | "America/Halifax"
            | "America/St_Johns"
            | "America/Regina"
            | "America/Moncton"
            | "America/Glace_Bay"
            | "America/Goose_Bay"
            | "America/Whitehorse"
            | "America/Dawson"
            | "America/Dawson_Creek"
            | "America/Fort_Nelson"
            | "America/Creston"
            | "America/Cambridge_Bay"
            | "America/Inuvik"
            | "America/Iqaluit"
            | "America/Rankin_Inlet"
            | "America/Resolute"
            | "America/Swift_Current"
            | "America/Atikokan"
            | "America/Blanc-Sablon" => "CA",
            _ => return None,
        };
        COUNTRIES.iter().find(|c| c.code == code).copied()
    }

    fn by_calling_code(digits: &str) -> Option<Country> {
        // Longest matching calling code wins ("972" before "9...").
        COUNTRIES
            .iter()
            .filter(|c| digits.starts_with(c.calling_code))
            .max_by_key(|c| c.calling_code.len())
            .copied()
    }
}

/// A phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Parse any common notation: `050-1234567`, `+972 50 123 4567`, `00972501234567`,
    /// `0912 345 6789` (with an Iranian default), `+98 912 345 6789`, Persian or Arabic digits.
    pub fn parse(input: &str, default_country: Country) -> Result<Phone, DomainError> {
        let bad = |code: &'static str, why: &str| {
            DomainError::new(code, "phone", format!("invalid phone number {:?}: {why}", input.trim()))
                .with("value", input.trim())
        };
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        let mut seen_digit = false;
        let mut in_paren_zero = false;
        for ch in input.trim().chars() {
            let d = match ch {
                '0'..='9' => Some(ch as u32 - '0' as u32),
                '\u{06F0}'..='\u{06F9}' => Some(ch as u32 - 0x06F0),
                '\u{0660}'..='\u{0669}' => Some(ch as u32 - 0x0660),
                _ => None,
            };
            match (d, ch) {
                (Some(d), _) => {
                    if in_paren_zero && d == 0 {
                        // "+972 (0)50 ..." — the trunk zero in parentheses is dropped.
                        in_paren_zero = false;
                        continue;
                    }
                    seen_digit = true;
                    digits.push(char::from(b'0' + d as u8));
                }
                (None, '+') if !seen_digit && !plus => plus = true,
                (None, '(') => in_paren_zero = plus || seen_digit,
                (None, ')') => in_paren_zero = false,
                (None, ' ' | '-' | '.' | '/' | '\u{00A0}' | '\u{200E}' | '\u{200F}') => {}
                _ => {
                    return Err(
                        bad("phone.unexpected_character", &format!("unexpected character {ch:?}"))
                            .with("character", ch.to_string()),
                    );
                }
            }
        }
        if digits.is_empty() {
            return Err(bad("phone.no_digits", "no digits"));
        }
        let international = if plus {
            Some(digits.as_str())
        } else {
            digits.strip_prefix("00")
        };
        let (country, nsn) = match international {
            Some(intl) => match Country::by_calling_code(intl) {
                Some(c) => {
                    let rest = &intl[c.calling_code.len()..];
                    // Tolerate a trunk prefix written after the country code: +972 050...
                    let rest = if !c.trunk_prefix.is_empty() && c.trunk_prefix != "1" {
                        rest.strip_prefix(c.trunk_prefix).unwrap_or(rest)
                    } else {
                        rest
                    };
                    (Some(c), rest.to_string())
                }
                None => {
                    if !(8..=15).contains(&intl.len()) {
                        return Err(bad(
                            "phone.international.length",
                            "an international number has 8 to 15 digits",
                        ));
                    }
                    return Ok(Phone(format!("+{intl}")));
                }
            },
            None => {
                let c = default_country;
                let rest = match digits.strip_prefix(c.trunk_prefix) {
                    Some(r) if r.len() >= c.nsn_len.0 => r,
                    _ => &digits,
                };
                (Some(c), rest.to_string())
            }
        };
        let country = country.ok_or_else(|| bad("phone.country.unknown", "unknown country"))?;
        let (lo, hi) = country.nsn_len;
        if nsn.len() < lo || nsn.len() > hi {
            let expected = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo} to {hi}")
            };
            return Err(bad(
                "phone.national.length",
                &format!(
                    "a {} number has {expected} digits after the country code, found {}",
                    country.code,
                    nsn.len()
                ),
            )
            .with("country", country.code)
            .with("expected", expected)
            .with("found", nsn.len()));
        }
        if nsn.starts_with('0') {
            return Err(bad(
                "phone.national.leading_zero",
                "the number after the country code cannot start with 0",
            ));
        }
        Ok(Phone(format!("+{}{}", country.calling_code, nsn)))
    }

    /// Wrap a string already in E.164 form (as stored), checking its shape.
    pub fn from_e164(s: &str) -> Result<Phone, DomainError> {
        let ok = s.len() >= 9 && s.len() <= 16 && s.starts_with('+') && s[1..].bytes().all(|c| c.is_ascii_digit());
        if ok {
            Ok(Phone(s.to_string()))
        } else {
            Err(DomainError::new("phone.not_e164", "phone", format!("not an E.164 number: {s:?}")).with("value", s))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn il(s: &str) -> String {
        Phone::parse(s, Country::israel()).unwrap().to_string()
    }
    fn ir(s: &str) -> String {
        Phone::parse(s, Country::parse("IR").unwrap()).unwrap().to_string()
    }

    #[test]
    fn israeli_notations() {
        assert_eq!(il("050-1234567"), "+972501234567");
        assert_eq!(il("+972 50 123 4567"), "+972501234567");
        assert_eq!(il("00972-50-1234567"), "+972501234567");
        assert_eq!(il("+972 (0)50 123 4567"), "+972501234567");
        assert_eq!(il("+972 050 123 4567"), "+972501234567");
        assert_eq!(il("03-6123456"), "+97236123456");
        assert_eq!(il("501234567"), "+972501234567");
    }

    #[test]
    fn iranian_notations() {
        assert_eq!(ir("0912 345 6789"), "+989123456789");
        assert_eq!(ir("+98 912 345 6789"), "+989123456789");
        assert_eq!(ir("۰۹۱۲ ۳۴۵ ۶۷۸۹"), "+989123456789");
        // An Iranian number written internationally parses whatever the default country.
        assert_eq!(il("+98 912 345 6789"), "+989123456789");
        assert_eq!(il("0098 912 345 6789"), "+989123456789");
    }

    #[test]
    fn other_international_numbers_keep_their_digits() {
        assert_eq!(il("+1 (415) 555-2671"), "+14155552671");
        assert_eq!(il("+44 20 7946 0958"), "+442079460958");
        assert_eq!(il("+61 2 9374 4000"), "+61293744000");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Phone::parse("", Country::israel()).is_err());
        assert!(Phone::parse("abc", Country::israel()).is_err());
        assert!(Phone::parse("050-12345", Country::israel()).is_err());
        assert!(Phone::parse("050-1234567890", Country::israel()).is_err());
        assert!(Phone::parse("0912 345 678", Country::parse("IR").unwrap()).is_err());
        let e = Phone::parse("05O-1234567", Country::israel()).unwrap_err();
        assert_eq!(e.field, "phone");
        assert!(e.reason.contains("unexpected character 'O'"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = Phone::parse(&s, Country::israel());
        }

        #[test]
        fn normalised_numbers_are_fixed_points(n in 500_000_000u64..599_999_999u64) {
            let p = il(&format!("0{n}"));
            proptest::prop_assert_eq!(il(&p), p);
        }
    }

    #[test]
    fn a_time_zone_names_its_country() {
        let code = |z: &str| super::Country::for_time_zone(z).map(|c| c.code);
        assert_eq!(code("Asia/Tehran"), Some("IR"));
        assert_eq!(code("Asia/Jerusalem"), Some("IL"));
        assert_eq!(code("America/Indiana/Knox"), Some("US"));
        assert_eq!(code("America/Toronto"), Some("CA"));
        assert_eq!(code("UTC"), None);
        assert_eq!(code("Asia/Tokyo"), None);
    }
}
