//! Money: integer minor units plus an ISO 4217 currency; never floating point.

use crate::DomainError;
use std::fmt;

/// An ISO 4217 currency code (three upper-case ASCII letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// The active ISO 4217 codes a sale, a price or an earning rule may be in (list one of the
/// standard; withdrawn codes such as HRK or ZWL are refused at the door, and the test and
/// "no currency" codes XTS and XXX are left out).
pub const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD",
    "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP",
    "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD",
    "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK",
    "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR",
    "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
    "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA",
    "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

impl Currency {
    /// A currency code as a person or a client sends it: an active ISO 4217 code
    /// ([`ISO_4217`]), in upper case (`ils` and `XYZ` are refused).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return Err(DomainError::new(
                "currency.invalid",
                "currency",
                format!("invalid currency code {t:?}: expected three letters such as ILS"),
            )
            .with("value", t));
        }
        let upper = t.to_ascii_uppercase();
        if !ISO_4217.contains(&upper.as_str()) {
            return Err(DomainError::new(
                "currency.unknown",
                "currency",
                format!("unknown currency code {t:?}: not an active ISO 4217 code"),
            )
            .with("value", t));
        }
        if upper != t {
            return Err(DomainError::new(
                "currency.lower_case",
                "currency",
                format!("currency code {t:?} must be upper case, as in {upper}"),
            )
            .with("value", t)
            .with("suggestion", upper));
        }
        Ok(Self([b[0], b[1], b[2]]))
    }

    /// A currency code read back from the database: any three ASCII letters, upper-cased, so
    /// that a row written before the ISO 4217 check (or in a since withdrawn currency) can
    /// still be read, summed and exported.
    pub fn from_stored(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_alphabetic()) {
            return Err(DomainError::new(
                "currency.invalid",
                "currency",
                format!("invalid currency code {t:?}: expected three letters such as ILS"),
            )
            .with("value", t));
        }
        Ok(Self([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ]))
    }

    pub fn as_str(&self) -> &str {
        // Built only from ASCII letters, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of decimals of the minor unit (ISO 4217).
    pub fn exponent(&self) -> u32 {
        // On the bytes, not the string: this runs for every amount of an import.
        match &self.0 {
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG" | b"RWF" | b"UGX"
            | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
            b"CLF" | b"UYW" => 4,
            // The Iranian rial has a minor unit on paper but none in practice.
            b"IRR" => 0,
            _ => 2,
        }
    }

    /// Parse a decimal amount in major units ("12.50") into minor units, exactly.
    pub fn parse_amount(&self, s: &str, field: &'static str) -> Result<i64, DomainError> {
        let t = s.trim();
        let bad = |code: &'static str, why: &str| {
            DomainError::new(code, field, format!("invalid amount {t:?}: {why}")).with("value", t)
        };
        if t.is_empty() {
            return Err(bad("money.amount.empty", "empty"));
        }
        let (neg, digits) = match t.as_bytes()[0] {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad("money.amount.no_digits", "no digits"));
        }
        if !int_part.bytes().all(|c| c.is_ascii_digit()) || !frac_part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("money.amount.not_a_number", "not a decimal number"));
        }
        let exp = self.exponent();
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > exp as usize {
            return Err(bad(
                "money.amount.too_precise",
                &format!("{} allows at most {exp} decimals", self.as_str()),
            )
            .with("currency", self.as_str())
            .with("decimals", exp));
        }
        let mut minor: i64 = 0;
        for c in int_part.bytes() {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(c - b'0')))
                .ok_or_else(|| bad("money.amount.too_large", "too large"))?;
        }
        let scale = 10i64.pow(exp);
        minor = minor
            .checked_mul(scale)
            .ok_or_else(|| bad("money.amount.too_large", "too large"))?;
        let mut frac: i64 = 0;
        for (i, c) in frac_trimmed.bytes().enumerate() {
            frac += i64::from(c - b'0') * 10i64.pow(exp - 1 - i as u32);
        }
        minor = minor
            .checked_add(frac)
            .ok_or_else(|| bad("money.amount.too_large", "too large"))?;
        Ok(if neg { -minor } else { minor })
    }

    /// Format minor units as a decimal string in major units.
    pub fn format_amount(&self, minor: i64) -> String {
        let exp = self.exponent();
        if exp == 0 {
            return minor.to_string();
        }
        let scale = 10u64.pow(exp);
        let abs = minor.unsigned_abs();
        let sign = if minor < 0 { "-" } else { "" };
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = exp as usize)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The largest unit price accepted, in minor units (10^12: ten billion shekels or dollars).
/// The bounds are far beyond any real sale and leave room for sums: a customer's revenue over a
/// hundred thousand sales of the largest size still fits in i64 (docs/bounds.md).
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000_000;
/// The largest quantity on one line (a billion units).
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// The largest amount of one line, quantity × unit price, in minor units (10^12).
pub const MAX_LINE_AMOUNT: i64 = 1_000_000_000_000;
/// The largest total of one sale or refund (the sum of its lines' sizes), in minor units (10^13).
pub const MAX_SALE_TOTAL: i64 = 10_000_000_000_000;

/// `minor` as an amount a price or a cost may hold: not negative, at most [`MAX_UNIT_PRICE`].
pub fn check_price(minor: i64, field: &'static str) -> Result<i64, DomainError> {
    if minor < 0 {
        return Err(DomainError::new("money.negative", field, "must not be negative"));
    }
    if minor > MAX_UNIT_PRICE {
        return Err(DomainError::new(
            "money.too_large",
            field,
            format!("{minor} minor units is more than the largest price accepted, {MAX_UNIT_PRICE}"),
        )
        .with("value", minor)
        .with("max", MAX_UNIT_PRICE));
    }
    Ok(minor)
}

/// An amount of money: minor units and a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then_some(())?;
        Some(Money::new(self.minor.checked_add(other.minor)?, self.currency))
    }

    pub fn checked_mul(self, n: i64) -> Option<Money> {
        Some(Money::new(self.minor.checked_mul(n)?, self.currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.format_amount(self.minor), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_exactly() {
        let ils = Currency::parse("ILS").unwrap();
        assert_eq!(ils.as_str(), "ILS");
        assert_eq!(ils.parse_amount("12.50", "x").unwrap(), 1250);
        assert_eq!(ils.parse_amount("12.5", "x").unwrap(), 1250);
        assert_eq!(ils.parse_amount("0.07", "x").unwrap(), 7);
        assert_eq!(ils.parse_amount("-3", "x").unwrap(), -300);
        assert_eq!(ils.parse_amount("1.230", "x").unwrap(), 123);
        assert!(
            ils.parse_amount("12.505", "x")
                .unwrap_err()
                .reason
                .contains("at most 2 decimals")
        );
        assert!(ils.parse_amount("1e3", "x").is_err());
        assert!(ils.parse_amount("", "x").is_err());
        assert!(ils.parse_amount("99999999999999999999", "x").is_err());
        let irr = Currency::parse("IRR").unwrap();
        assert_eq!(irr.parse_amount("150000", "x").unwrap(), 150000);
        assert!(irr.parse_amount("1.5", "x").is_err());
    }

    #[test]
    fn formats_amounts() {
        let ils = Currency::parse("ILS").unwrap();
        assert_eq!(ils.format_amount(1250), "12.50");
        assert_eq!(ils.format_amount(-7), "-0.07");
        assert_eq!(Money::new(1250, ils).to_string(), "12.50 ILS");
    }

    #[test]
    fn currency_codes_are_active_iso_4217_codes_in_upper_case() {
        let lower = Currency::parse("ils").unwrap_err();
        assert_eq!((lower.code(), lower.field), ("currency.lower_case", "currency"));
        assert_eq!(lower.params(), crate::params!(value = "ils", suggestion = "ILS"));
        let unknown = Currency::parse("XYZ").unwrap_err();
        assert_eq!((unknown.code(), unknown.field), ("currency.unknown", "currency"));
        assert_eq!(
            Currency::parse("HRK").unwrap_err().code(),
            "currency.unknown",
            "withdrawn in 2023"
        );
        for code in ["ILS", "USD", "EUR", "IRR", "JPY", "KWD"] {
            assert_eq!(Currency::parse(code).unwrap().as_str(), code);
        }
        assert!(
            ISO_4217.windows(2).all(|w| w[0] < w[1]),
            "the table is sorted, without repeats"
        );
        // What the database holds is read back as it was written, even when no longer accepted.
        assert_eq!(Currency::from_stored("xyz").unwrap().as_str(), "XYZ");
    }

    #[test]
    fn a_price_beyond_the_bound_is_refused() {
        assert_eq!(check_price(MAX_UNIT_PRICE, "list_price").unwrap(), MAX_UNIT_PRICE);
        let e = check_price(MAX_UNIT_PRICE + 1, "list_price").unwrap_err();
        assert_eq!((e.code(), e.field), ("money.too_large", "list_price"));
        assert_eq!(
            e.params(),
            crate::params!(value = MAX_UNIT_PRICE + 1, max = MAX_UNIT_PRICE)
        );
        assert_eq!(check_price(-1, "unit_cost").unwrap_err().code(), "money.negative");
    }

    #[test]
    fn rejects_bad_codes() {
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("U$D").is_err());
    }

    #[test]
    fn money_arithmetic_is_checked() {
        let ils = Currency::parse("ILS").unwrap();
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            Money::new(1, ils).checked_add(Money::new(2, ils)),
            Some(Money::new(3, ils))
        );
        assert_eq!(Money::new(1, ils).checked_add(Money::new(2, usd)), None);
        assert_eq!(Money::new(i64::MAX, ils).checked_mul(2), None);
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let ils = Currency::parse("ILS").unwrap();
            proptest::prop_assert_eq!(ils.parse_amount(&ils.format_amount(minor), "x").unwrap(), minor);
        }
    }

    #[test]
    fn a_refused_amount_has_a_code_and_params_but_the_same_english() {
        let ils = Currency::parse("ILS").unwrap();
        let e = ils.parse_amount("12.505", "unit_price").unwrap_err();
        assert_eq!((e.code(), e.field), ("money.amount.too_precise", "unit_price"));
        assert_eq!(
            e.params(),
            crate::params!(value = "12.505", currency = "ILS", decimals = 2)
        );
        assert_eq!(
            e.to_string(),
            "unit_price: invalid amount \"12.505\": ILS allows at most 2 decimals"
        );
    }
}
