//! Mines a basket file and prints phase timings (used by bench/baskets/run.sh)
//!
//! Usage: mine --input FILE [--format fimi|csv] --min-support S [--min-confidence C]
//!             [--max-len K] [--json OUT] [--serial]
//! Prints one line to stdout: `kesher read_s=… mine_s=… total_s=… itemsets=… rules=…`.

use std::error::Error;
use std::fs::File;
use std::io::{BufReader, Write};
use std::time::Instant;

use kesher_baskets::{InputFormat, MineParams, mine, read_baskets, to_json};

fn main() -> Result<(), Box<dyn Error>> {
    let mut input = None;
    let mut format = InputFormat::Fimi;
    let mut params = MineParams::new(0.01);
    let mut json_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--input" => input = Some(value()?),
            "--format" => format = value()?.parse()?,
            "--min-support" => params.min_support = value()?.parse()?,
            "--min-confidence" => params.min_confidence = value()?.parse()?,
            "--max-len" => params.max_len = Some(value()?.parse()?),
            "--json" => json_out = Some(value()?),
            "--serial" => params.parallel = false,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let input = input.ok_or("--input is required")?;

    let start = Instant::now();
    let baskets = read_baskets(BufReader::new(File::open(&input)?), format)?;
    let read = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let result = mine(&baskets, &params)?;
    let mined = t.elapsed().as_secs_f64();
    if let Some(path) = json_out {
        File::create(path)?.write_all(to_json(&result).as_bytes())?;
    }
    println!(
        "kesher read_s={read:.4} mine_s={mined:.4} total_s={:.4} baskets={} itemsets={} rules={}",
        start.elapsed().as_secs_f64(),
        baskets.len(),
        result.itemsets.len(),
        result.rules.len()
    );
    Ok(())
}
