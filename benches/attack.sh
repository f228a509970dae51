#!/usr/bin/env bash
# Peak RSS of noisegate under the attack its caps are for (examples/floodlog.rs): LINES
# probes (default 5 million), each from a new client for a new path, a new user agent every
# fifth, each a new client-minute. Prints the peak RSS for 1 and 2 threads and the verdict
# against the documented cap of 128 MB.
#
#   benches/attack.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-5000000}
work=${NOISEGATE_BENCH_DIR:-/tmp/noisegate-bench}
mkdir -p "$work"
log="$work/flood-$lines.log"
cargo build --release --quiet --bin noisegate --example floodlog
[ -s "$log" ] || target/release/examples/floodlog "$lines" > "$log"
echo "$(stat -c %s "$log") bytes, $lines lines"
for threads in 1 2; do
  /usr/bin/time -f "%e %M" -o "$work/attack-time.txt" \
    target/release/noisegate --threads "$threads" -o json "$log" > "$work/attack.json"
  read -r secs kib < "$work/attack-time.txt"
  verdict=$([ "$kib" -le $((128 * 1024)) ] && echo "within" || echo "OVER")
  echo "threads $threads: $secs s, peak RSS $((kib / 1024)) MB ($verdict the 128 MB cap)"
done
