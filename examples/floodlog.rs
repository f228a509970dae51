//! `floodlog`: the Pantheon logs of the attacks noisegate's memory caps are for
//! (`noisegate_gen::attack`), written to stdout; `benches/attack.sh` runs them.
//!
//!   floodlog LINES                          the flood: new client, path, client-minute
//!   floodlog clients LINES CATEGORIES BYTES new first X-Forwarded-For hops of BYTES bytes
//!   floodlog unique LINES BYTES             new path, user agent and hop of BYTES bytes each
//!   floodlog agent LINES BYTES CHAR         a user agent of BYTES bytes of CHAR
//!   floodlog mix LINES BYTES                the four in turn
//!
//! `cargo run --release --example floodlog -- 5000000 > /tmp/flood.log`

use noisegate_gen::attack::Attack;
use std::io::{self, Write};

const USAGE: &str = "usage: floodlog [flood] LINES | clients LINES CATEGORIES BYTES | \
                     unique LINES BYTES | agent LINES BYTES CHAR | mix LINES BYTES";

/// The attack and its number of lines, from the command line.
fn parse(args: &[String]) -> Option<(Attack, u64)> {
    let num = |k: usize| args.get(k)?.parse::<usize>().ok();
    let lines = |k: usize| Some(num(k)? as u64);
    let arity = |n: usize| (args.len() == n).then_some(());
    match args.first()?.as_str() {
        "flood" => arity(2).and(Some((Attack::Flood, lines(1)?))),
        "clients" => {
            arity(4)?;
            let (categories, bytes) = (num(2)?, num(3)?);
            Some((Attack::Clients { categories, bytes }, lines(1)?))
        }
        "unique" => arity(3).and(Some((Attack::Unique { bytes: num(2)? }, lines(1)?))),
        "agent" => {
            arity(4)?;
            let &[fill] = args[3].as_bytes() else {
                return None;
            };
            let bytes = num(2)?;
            Some((Attack::Agent { bytes, fill }, lines(1)?))
        }
        "mix" => arity(3).and(Some((Attack::Mix { bytes: num(2)? }, lines(1)?))),
        _ => arity(1).and(Some((Attack::Flood, lines(0)?))),
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((attack, lines)) = parse(&args) else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let mut out = io::stdout().lock();
    attack.write(lines, &mut out)?;
    out.flush()
}
