//! `floodlog`: a Pantheon log of the attack noisegate's caps are for. Every probe comes
//! from a new client (IPv4 and IPv6 alternating) for a new path; every fifth brings a new user
//! agent; the minutes jump around a month, so each probe opens a new client-minute.
//!
//! `cargo run --release --example floodlog -- 5000000 > /tmp/flood.log`
//! (`benches/attack.sh` runs it and measures noisegate's peak RSS.)

use std::io::{self, BufWriter, Write};

fn main() -> io::Result<()> {
    let n: u64 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: floodlog LINES > FILE");
            std::process::exit(2);
        }
    };
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    for i in 0..n {
        let minute = i * 7919 % 40_320;
        let client = if i % 2 == 0 {
            format!("2001:db8::{i:x}")
        } else {
            format!(
                "{}.{}.{}.{}",
                1 + (i >> 24) % 223,
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            )
        };
        writeln!(
            out,
            "10.0.0.1 - - [{:02}/Mar/2024:{:02}:{:02}:{:02} +0000]  \"POST /autodiscover/{i:x}/autodiscover.xml HTTP/1.1\" 404 12 \"-\" \"Microsoft Office/16.0 ({})\" 0.250 \"{client}\"",
            1 + minute / 1440,
            minute / 60 % 24,
            minute % 60,
            i % 60,
            i / 5
        )?;
    }
    out.flush()
}
