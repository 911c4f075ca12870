//! Generates the demo business: `cargo run --release -p kesher-demo --example demo_gen -- [CUSTOMERS] [DIR]`
//!
//! Without DIR the files go to a sink (timing only); with DIR the six CSV files are written there.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use kesher_demo::{DemoConfig, DemoSinks, generate};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let customers = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let dir = args.next().map(PathBuf::from);
    let cfg = DemoConfig {
        customers,
        ..DemoConfig::default()
    };
    let started = Instant::now();
    let stats = match dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            let mut sinks = DemoSinks::try_new(|name| -> io::Result<Box<dyn Write>> {
                Ok(Box::new(BufWriter::new(File::create(dir.join(name))?)))
            })?;
            generate(&cfg, &mut sinks)?
        }
        None => {
            let mut sinks = DemoSinks::try_new(|_| Ok::<_, io::Error>(io::sink()))?;
            generate(&cfg, &mut sinks)?
        }
    };
    println!("{stats:#?}");
    println!("generated {customers} customers in {:.2?}", started.elapsed());
    Ok(())
}
