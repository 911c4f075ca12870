//! Money: integer minor units plus an ISO 4217 currency; never floating point.

use crate::DomainError;
use std::fmt;

/// An ISO 4217 currency code (three upper-case ASCII letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
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
        let ils = Currency::parse("ils").unwrap();
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
