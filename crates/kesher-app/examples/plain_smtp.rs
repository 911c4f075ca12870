//! The peer of bench/campaigns/run.sh's delivery figure: the same e-mails as kesher's outbox
//! sends (sender, recipient, subject, HTML body, Message-ID, List-Unsubscribe headers), sent by
//! a plain loop with lettre and nothing else — no outbox row claimed, no consent read again, no
//! state recorded. The ratio of the two rates is what the outbox's guarantees cost.
//!
//!     cargo run --release -p kesher-app --example plain_smtp -- smtp://127.0.0.1:PORT N

use lettre::Transport;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: plain_smtp SMTP_URL N")?;
    let n: u64 = args.next().ok_or("usage: plain_smtp SMTP_URL N")?.parse()?;
    let transport = lettre::SmtpTransport::from_url(&url)?.build();
    let started = Instant::now();
    for i in 0..n {
        let header = |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
        let email = lettre::Message::builder()
            .from("shop@example.com".parse()?)
            .to(format!("c{i}@example.com").parse()?)
            .subject(format!("Dana{i}, we miss you"))
            .message_id(Some(format!("<plain-{i}@kesher>")))
            .raw_header(header(
                "List-Unsubscribe",
                format!("<http://127.0.0.1:8080/u/plain-{i}.email.0123456789abcdef0123456789abcdef>"),
            ))
            .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
            .header(ContentType::TEXT_HTML)
            .body(format!(
                "<p>Dana{i}, it has been a while since your last visit. We would love to see you again.</p>"
            ))?;
        transport.send(&email)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{n} messages in {secs:.2} s: {:.0} messages/s", n as f64 / secs);
    Ok(())
}
