//! The clap-free body of `kesher baskets mine`: read baskets, mine, render JSON

use std::io::BufRead;
use std::str::FromStr;

use crate::baskets::{Baskets, CsvOptions};
use crate::error::BasketError;
use crate::json::to_json;
use crate::mine::{MineParams, mine};

/// Input format of `kesher baskets mine --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// One basket a line, items separated by spaces (`fimi`).
    #[default]
    Fimi,
    /// kesher's transactions CSV, one row per line item (`csv`).
    KesherCsv,
}

impl FromStr for InputFormat {
    type Err = BasketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fimi" => Ok(InputFormat::Fimi),
            "csv" => Ok(InputFormat::KesherCsv),
            other => Err(BasketError::InvalidParameter {
                name: "format",
                reason: format!("expected fimi or csv, got \"{other}\""),
            }),
        }
    }
}

/// Reads baskets in `format` from `input`.
pub fn read_baskets(input: impl BufRead, format: InputFormat) -> Result<Baskets, BasketError> {
    match format {
        InputFormat::Fimi => Baskets::from_fimi_reader(input),
        InputFormat::KesherCsv => Baskets::from_kesher_csv_reader(input, &CsvOptions::default()),
    }
}

/// `kesher baskets mine --input FILE --format F --min-support S [--min-confidence C]
/// [--max-len K] --json`: the CLI opens FILE and passes a buffered reader (or
/// `text.as_bytes()`); the returned string is the JSON document to print.
pub fn run_mine_command(input: impl BufRead, format: InputFormat, params: &MineParams) -> Result<String, BasketError> {
    let baskets = read_baskets(input, format)?;
    let result = mine(&baskets, params)?;
    Ok(to_json(&result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mines_fimi_text() {
        let mut params = MineParams::new(0.5);
        params.min_confidence = 1.0;
        let json = run_mine_command("a b\na b\nb c\n".as_bytes(), InputFormat::Fimi, &params).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"itemsets":[{"items":["b"],"support":1},{"items":["a"],"support":0.6666666666666666},"#,
                r#"{"items":["a","b"],"support":0.6666666666666666}],"rules":[{"antecedents":["a"],"#,
                r#""consequents":["b"],"support":0.6666666666666666,"confidence":1,"lift":1,"leverage":0,"conviction":"inf"}]}"#
            )
        );
    }

    #[test]
    fn parses_format_names() {
        assert_eq!("csv".parse::<InputFormat>().unwrap(), InputFormat::KesherCsv);
        assert_eq!("fimi".parse::<InputFormat>().unwrap(), InputFormat::Fimi);
        assert_eq!(
            "xml".parse::<InputFormat>().unwrap_err().to_string(),
            "parameter format: expected fimi or csv, got \"xml\""
        );
    }
}
