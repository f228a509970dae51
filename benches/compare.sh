#!/usr/bin/env bash
# Times noisegate against the tools people use on the same generated Pantheon log, in one run,
# as whole processes: several rounds, each through every command in turn, the median wall time
# and the peak RSS. Writes
# BENCHMARKS.md (machine, commands, table, targets).
#
#   benches/compare.sh [SIZE] [ROUNDS] [BASELINE]    # defaults: 1G, 3, HEAD~1
#
# Three corpora: the generator's default log of SIZE (3% noise), one of SIZE with 24% noise,
# and one with 50% noise and long lines (SIZE of generated lines whose "-" referers become
# ~700-byte ones, as tracking parameters make them: about 3 x SIZE); rows on the last two are
# scaled to the first's size; with nginx and python3 installed, a fourth that a real nginx wrote
# (benches/nginx-corpus.sh: 40,000 requests, a quarter of them probes, the log repeated to
# SIZE). On each: noisegate with 2 threads and 1, and the floor program
# (line split + status sum, examples/floor.rs) with 2 threads and 1, whose ratio is what a
# second thread can gain on the machine at all. BASELINE is a git revision built into a temporary worktree: its JSON
# report on every corpus and on samples/ must be byte-identical to this build's, and the
# script says so (or shows the first differences). BASELINE "none" skips that.
#
# Needs the Rust toolchain; uses rg, mawk, gawk and goaccess when installed (apt-get install
# ripgrep gawk goaccess), and says so when one is missing. GoAccess runs on a 100 MB slice and
# is scaled, as it is ~100 times slower.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
rounds=${2:-3}
baseline=${3:-HEAD~1}
work=${NOISEGATE_BENCH_DIR:-/tmp/noisegate-bench}
mkdir -p "$work"
log="$work/pantheon-$size.log"
have() { command -v "$1" > /dev/null; }

cargo build --release --quiet --bin noisegate --example genlog --example floor
ng=target/release/noisegate
if [ ! -s "$log" ]; then
  target/release/examples/genlog --bytes "$size" -o "$log"
fi
[ -s "$log.gz" ] || gzip -1 -c "$log" > "$log.gz"
# A second corpus with a heavy noise share (24% of the lines are mail-client probes).
noisy="$work/pantheon-$size-noisy.log"
[ -s "$noisy" ] || target/release/examples/genlog --bytes "$size" --noise 0.24 --seed 7 -o "$noisy"
# A third: half noise, and long lines (a ~700-byte referer where the log has "-").
long="$work/pantheon-$size-long.log"
if [ ! -s "$long" ]; then
  ref="https://www.example.org/landing/?utm_source=newsletter&utm_medium=email&utm_campaign=autumn-sale"
  while [ ${#ref} -lt 700 ]; do ref="$ref&fbclid=IwAR${#ref}x9Qk2ZLmNpT7vW3sYbR8cFhJd5uGe4XoKa1Mi6BtVqHn0SrPw"; done
  target/release/examples/genlog --bytes "$size" --noise 0.5 --seed 11 \
    | sed "s| \"-\" \"| \"${ref//&/\\&}\" \"|" > "$long"
fi
# A fourth, when nginx is installed: a log a real nginx wrote (a quarter of it probes),
# repeated to SIZE (benches/nginx-corpus.sh).
real="$work/nginx-$size.log"
if [ ! -s "$real" ] && { command -v nginx || [ -x /usr/sbin/nginx ]; } > /dev/null && have python3; then
  benches/nginx-corpus.sh "$real" "$size" || { rm -f "$real"; echo "nginx-corpus.sh failed: no real nginx corpus"; }
fi
corpora=(noisy long)
if [ -s "$real" ]; then corpora+=(real); else real=""; echo "no nginx or python3: no real nginx corpus"; fi
# The same lines as two gzip files, for the parallel-decompression target.
if [ ! -s "$work/half-2.log.gz" ]; then
  half=$(( $(wc -l < "$log") / 2 ))
  head -n "$half" "$log" | gzip -1 > "$work/half-1.log.gz"
  tail -n +"$((half + 1))" "$log" | gzip -1 > "$work/half-2.log.gz"
fi
head -c 100000000 "$log" | sed '$d' > "$work/slice.log"
bytes=$(stat -L -c %s "$log")
lines=$(wc -l < "$log")
slice_bytes=$(stat -L -c %s "$work/slice.log")
cat "$log" "$log.gz" "$work"/half-*.log.gz "$noisy" "$long" ${real:+"$real"} > /dev/null 2>&1 || true   # warm the page cache

rows=()
names=() scales=() cmds=()
# run NAME SCALE COMMAND...: adds a row; `measure` times every row ROUNDS times, a round
# through all rows at a time (so a change in the machine's load over the run falls on every
# row alike, not on the rows timed last), and records each median and peak RSS.
run() {
  names+=("$1"); scales+=("$2"); shift 2; cmds+=("$*")
}
measure() {
  local n=${#names[@]} i t m
  local -a times peaks
  for i in $(seq 0 $((n - 1))); do times[i]=""; peaks[i]=0; done
  for r in $(seq "$rounds"); do
    echo "round $r of $rounds"
    for i in $(seq 0 $((n - 1))); do
      # Wall time from the clock in nanoseconds (time's %e has 10 ms steps, 6% of the
      # floor's run), a few ms of bash and time included alike in every row; time itself
      # for the peak RSS.
      local start end
      start=$(date +%s%N)
      /usr/bin/time -f "%M" -o "$work/time.txt" bash -c "${cmds[i]}" > /dev/null 2>&1 || true
      end=$(date +%s%N)
      read -r m < "$work/time.txt"
      t=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
      times[i]="${times[i]} $t"
      if (( m > peaks[i] )); then peaks[i]=$m; fi
    done
  done
  for i in $(seq 0 $((n - 1))); do
    local median
    median=$(printf '%s\n' ${times[i]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    median=$(awk -v t="$median" -v s="${scales[i]}" 'BEGIN {printf "%.3f", t * s}')
    rows+=("${names[i]}"$'\t'"$median"$'\t'"$((peaks[i] / 1024))"$'\t'"${cmds[i]}")
    printf '%-44s %8s s %6s MB\n' "${names[i]}" "$median" "$((peaks[i] / 1024))"
  done
}

awk_prog='{n++; split($2, r, " "); p = tolower(r[2]); split($3, s, " "); st[s[1]]++; if (p ~ /autodiscover|autoconfig|activesync|\/ews|\/owa/) noise++} END {print n, noise}'
run "noisegate FILE (2 threads)" 1 "$ng $log"
run "cat FILE | noisegate" 1 "cat $log | $ng"
run "noisegate --threads 1 FILE" 1 "$ng --threads 1 $log"
# A file that another process holds open for writing (a live log) is read, not mapped.
run "noisegate FILE, read path (file open for writing)" 1 "exec 3>>$log; $ng $log"
run "noisegate --threads 1 FILE, read path" 1 "exec 3>>$log; $ng --threads 1 $log"
slice_scale=$(awk -v a="$bytes" -v b="$slice_bytes" 'BEGIN {print a / b}')
run "noisegate 100 MB slice, scaled (memory vs input size)" "$slice_scale" "$ng $work/slice.log"
run "noisegate FILE.gz" 1 "$ng $log.gz"
run "noisegate two .gz files (the same lines)" 1 "$ng $work/half-1.log.gz $work/half-2.log.gz"
run "zcat FILE.gz > /dev/null" 1 "zcat $log.gz"
run "wc -l FILE" 1 "wc -l $log"
# The floor of any per-line analysis: mapped, lines split with memchr, the status summed,
# 2 threads (examples/floor.rs).
run "floor: line split + status sum (2 threads)" 1 "target/release/examples/floor $log 2"
# The floor on one thread: how much two threads can gain on this machine at all (the page
# cache's mapping and the memory bandwidth are shared).
run "floor, 1 thread" 1 "target/release/examples/floor $log 1"
# The other two corpora, scaled to FILE's size so that the MB/s column holds for them too.
label_of() {
  case $1 in
    noisy) echo "24% noise corpus" ;;
    long) echo "50% noise, long lines" ;;
    real) echo "real nginx log, 24% noise" ;;
  esac
}
for corpus in "${corpora[@]}"; do
  f=${!corpus}
  label=$(label_of "$corpus")
  scale=$(awk -v a="$bytes" -v b="$(stat -L -c %s "$f")" 'BEGIN {print a / b}')
  run "noisegate, $label (scaled to FILE's size)" "$scale" "$ng $f"
  run "noisegate --threads 1, $label (scaled)" "$scale" "$ng --threads 1 $f"
  run "floor, $label (scaled)" "$scale" "target/release/examples/floor $f 2"
  run "floor, 1 thread, $label (scaled)" "$scale" "target/release/examples/floor $f 1"
done
run "cat FILE | wc -l" 1 "cat $log | wc -l"
if have rg; then run "rg -c autodiscover FILE" 1 "rg -c autodiscover $log"; fi
if have mawk; then run "mawk one-pass aggregation (LC_ALL=C)" 1 "LC_ALL=C mawk -F'\"' '$awk_prog' $log"; fi
if have gawk; then run "gawk one-pass aggregation (LC_ALL=C)" 1 "LC_ALL=C gawk -F'\"' '$awk_prog' $log"; fi
if have goaccess; then
  fmt='%^ - %^ [%d:%t %^]  "%r" %s %b "%R" "%u" %T "%h,%^"'
  run "goaccess (100 MB slice, scaled)" "$slice_scale" "goaccess --log-format='$fmt' --date-format=%d/%b/%Y --time-format=%T -o $work/goaccess.json $work/slice.log"
fi

measure

# The output must not change: this build's JSON report against the baseline's, on every corpus
# and sample.
same="not checked"
if [ "$baseline" != none ]; then
  rev=$(git rev-parse --short "$baseline")
  base_src="$work/baseline-src"
  rm -rf "$base_src"; git worktree prune
  git worktree add --quiet --detach "$base_src" "$rev"
  cargo build --release --quiet --bin noisegate --manifest-path "$base_src/Cargo.toml" \
    --target-dir "$work/baseline-target"
  git worktree remove --force "$base_src"
  base_ng="$work/baseline-target/release/noisegate"
  same="identical ($rev)"
  for f in "$log" "$noisy" "$long" ${real:+"$real"} samples/*.log; do
    "$base_ng" -o json "$f" > "$work/base.json" 2> /dev/null || true
    "$ng" -o json "$f" > "$work/this.json" 2> /dev/null || true
    if ! cmp -s "$work/base.json" "$work/this.json"; then
      same="DIFFERENT from $rev on $(basename "$f")"
      diff <(tr ',' '\n' < "$work/base.json") <(tr ',' '\n' < "$work/this.json") | head -20
    fi
  done
  echo "JSON report vs $rev: $same"
fi

secs() { printf '%s\n' "${rows[@]}" | awk -F'\t' -v n="$1" '$1 == n {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
ng2=$(secs "noisegate FILE (2 threads)"); ng1=$(secs "noisegate --threads 1 FILE")
{
  echo "# Benchmarks"
  echo
  echo "Made by \`benches/compare.sh $size $rounds\` on $(date -u +%Y-%m-%d): $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB, page cache warm."
  echo "Input: a generated Pantheon-format log (\`genlog --bytes $size\`), $bytes bytes, $lines lines; the other two corpora are scaled to its size (see the script)."
  echo "Median of $rounds runs as whole processes, each round through every command in turn; peak RSS is the largest of the runs."
  echo
  echo "| command | median s | MB/s | lines/s | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS=$'\t' read -r name t rss _ <<< "$r"
    mbs=$(awk -v b="$bytes" -v t="$t" 'BEGIN {if (t > 0) printf "%.0f", b / t / 1e6; else print "-"}')
    lps=$(awk -v l="$lines" -v t="$t" 'BEGIN {if (t > 0) printf "%.0f", l / t; else print "-"}')
    echo "| ${name//|/\\|} | $t | $mbs | $lps | $rss |"
  done
  echo
  echo "## Targets"
  echo
  echo "| target | measured |"
  echo "|---|---|"
  echo "| ≥ 2500 MB/s on the file | $(awk -v b="$bytes" -v t="$ng2" 'BEGIN {printf "%.0f MB/s", b / t / 1e6}') |"
  echo "| ≤ 3× the floor's time | $(ratio "$ng2" "$(secs 'floor: line split + status sum (2 threads)')")× |"
  for corpus in "${corpora[@]}"; do
    label=$(label_of "$corpus")
    c2=$(secs "noisegate, $label (scaled to FILE's size)")
    echo "| ≥ 2500 MB/s on the $label | $(awk -v b="$bytes" -v t="$c2" 'BEGIN {printf "%.0f MB/s", b / t / 1e6}') |"
    echo "| ≤ 3× the floor's time there | $(ratio "$c2" "$(secs "floor, $label (scaled)")")× |"
    echo "| ≥ 1.8× from 1 to 2 threads there | $(ratio "$(secs "noisegate --threads 1, $label (scaled)")" "$c2")× (the floor: $(ratio "$(secs "floor, 1 thread, $label (scaled)")" "$(secs "floor, $label (scaled)")")×) |"
  done
  [ -n "$(secs 'rg -c autodiscover FILE')" ] && echo "| ≤ 2× \`rg -c autodiscover\` | $(ratio "$ng2" "$(secs 'rg -c autodiscover FILE')")× |"
  echo "| stdin ≥ 0.9× \`cat \| wc -l\` throughput | $(ratio "$(secs 'cat FILE | wc -l')" "$(secs 'cat FILE | noisegate')")× |"
  [ -n "$(secs 'mawk one-pass aggregation (LC_ALL=C)')" ] && echo "| ≥ 5× faster than mawk | $(ratio "$(secs 'mawk one-pass aggregation (LC_ALL=C)')" "$ng2")× |"
  echo "| ≥ 1.8× from 1 to 2 threads | $(ratio "$ng1" "$ng2")× (the floor: $(ratio "$(secs 'floor, 1 thread')" "$(secs 'floor: line split + status sum (2 threads)')")×) |"
  echo "| gzip ≥ 0.9× \`zcat\` speed | $(ratio "$(secs 'zcat FILE.gz > /dev/null')" "$(secs 'noisegate FILE.gz')")× |"
  echo "| two .gz files ≥ 1.7× the speed of one | $(ratio "$(secs 'noisegate FILE.gz')" "$(secs 'noisegate two .gz files (the same lines)')")× |"
  echo "| JSON report identical to $baseline's on every corpus and samples/ | $same |"
  echo
  echo "## Commands"
  echo
  for r in "${rows[@]}"; do
    IFS=$'\t' read -r name _ _ cmd <<< "$r"
    echo "- ${name}: \`\`$cmd\`\`"
  done
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md"
