//! A worker's memo of noise requests. Storms repeat one request, from one client with one
//! user agent, thousands of times; what such a request makes of its line — the path as kept
//! (mailboxes masked), the mail domain it names, the client family, the decoded user agent and
//! client — depends only on a few of its fields, so the memo works it out once per distinct
//! combination of them, the *key*, and keeps it in a table of eight-entry sets (a new key
//! takes a free entry of its set, or the one used least lately).
//!
//! The counts keyed by those strings (methods, paths, families, user agents, clients, mail
//! domains) are added up in the entry and written into the summary's maps when the entry
//! leaves the table (another key takes its slot, or the scan ends). The per-path evidence and
//! the per-client activity are kept in two small stages, indexed from the entry without
//! hashing, and absorbed into the summary's maps when a stage fills up or the scan ends.
//!
//! Every one of these maps keeps a set-based sample
//! ([`CappedMap`](super::keys::CappedMap)): what it keeps does not depend on the order its
//! keys came in, so adding counts later, and in bulk, gives the same summary as adding them
//! line by line; staged values count their whole weight against a map's budget. The memo's own memory is bounded: [`SLOTS`] entries of
//! at most [`MAX_KEY`] bytes of key, and stages of at most [`STAGE_KEYS`] keys and
//! [`STAGE_CELLS`] activity cells. A key longer than [`MAX_KEY`] is not memoized, and a flood
//! of keys that never repeat makes the memo stand aside for a while ([`WINDOW`], [`ASIDE`]):
//! such lines are counted straight into the summary, as they would be without it.

use super::evidence::Evidence;
use super::keys::Tally;
use super::noise::Strings;
use super::time::Activity;
use super::Summary;
use crate::classify::family::Family;
use crate::format::Escape;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;

/// Entries in the table (a power of two). With 4,096 entries in sets of two, a 24%-noise
/// log with about 2,500 keys live at a time missed one noise line in ten; with 16,384, one
/// in seventy.
const SLOTS: usize = 16384;
/// Entries a key may take (a set). A log a real nginx wrote (benches/nginx-corpus.sh: 300
/// clients, 36 kinds of probe, 10,800 keys live at once) missed 205,000 of its 1.1 million
/// lookups with sets of two, where three keys or more crowded a set of a table two-thirds
/// full (and the misses of the first, all-new lines made the memo stand aside); with sets of
/// four, and a miss that takes a free entry not held against the memo, 30,000 (42,368 on one
/// thread, 36,487 of them pushing another key out, each of which costs its counts' flush, a
/// new definition in the spool and in the storm details); with sets of eight, whose tags
/// fill one cache line, 11,222 (5,255).
const WAYS: usize = 8;
/// Most bytes the table's keys and strings hold (the capacity of their buffers); past it a
/// new key that would need more is worked out and counted without taking an entry.
const TABLE_BYTES: usize = 6 << 20;
/// Longest key memoized: a request with a longer one (a 7 KB user agent an attacker chose) is
/// worked out each time.
const MAX_KEY: usize = 512;
/// Most keys a stage holds before it is absorbed into the summary.
const STAGE_KEYS: usize = 4096;
/// Most activity cells the activity stage holds before it is absorbed.
const STAGE_CELLS: usize = 1 << 16;
/// Most bytes of keys a stage holds before it is absorbed.
const STAGE_BYTES: usize = 1 << 20;
/// Noise lines over which the memo judges itself: when more than three in four of them
/// missed and pushed another key out (a flood of requests that never repeat), it stands
/// aside for [`ASIDE`] windows.
const WINDOW: u32 = 4096;
/// Windows of noise lines counted without the table after a window of misses: each line is
/// worked out and added to the summary's maps directly, as if the memo were not there.
const ASIDE: u32 = 15;

/// The fields of a noise line that decide everything the memo keeps about it.
pub(crate) struct KeyFields<'a> {
    pub(crate) category: usize,
    pub(crate) escape: Escape,
    pub(crate) method: Option<&'a [u8]>,
    pub(crate) path: &'a [u8],
    pub(crate) query: &'a [u8],
    pub(crate) host: Option<&'a [u8]>,
    pub(crate) user_agent: Option<&'a [u8]>,
    /// The client address as logged, chosen by the format's policy, not yet unescaped.
    pub(crate) client: Option<&'a [u8]>,
}

/// What a key makes of a noise request, worked out by the scanner on a miss.
pub(crate) struct Derived<'a> {
    pub(crate) family: Family,
    pub(crate) scanner: bool,
    /// The strings kept of it (the path as kept: mailboxes masked).
    pub(crate) strings: Strings<'a>,
    /// The mail domain named, and the local part of the mailbox if one was.
    pub(crate) mail: Option<(&'a [u8], Option<&'a [u8]>)>,
}

/// What a line's entry says of it, for the per-line work (the spool record).
pub(crate) struct Counted<'a> {
    pub(crate) scanner: bool,
    pub(crate) family: Family,
    /// The entry's strings when its definition is not in the spool yet (asked with
    /// `spooling`); a line of a defined entry needs none of them.
    pub(crate) define: Option<Strings<'a>>,
}

/// One memoized key.
struct Entry {
    key: Vec<u8>,
    /// The derived strings, one after another.
    text: Vec<u8>,
    method: Range<usize>,
    path: Range<usize>,
    user_agent: Range<usize>,
    client: Range<usize>,
    /// The client's hash in the evidence ([`super::evidence::client_hash`]), worked out once.
    client_hash: u32,
    domain: Option<Range<usize>>,
    local: Option<Range<usize>>,
    category: usize,
    family: Family,
    scanner: bool,
    /// Requests not yet added to the summary's count maps.
    pending: u64,
    /// The stage generation `evidence` and `activity` index into.
    generation: u64,
    evidence: usize,
    activity: usize,
    /// The hour (`Some(None)`: no time) of the last request added to `evidence` in this
    /// generation: another request of the entry in that hour adds nothing but its count (same
    /// client, family, hour and day).
    evidence_hour: Option<Option<i64>>,
    /// Its definition is in the spool (see [`super::noise`]).
    spooled: bool,
}

impl Entry {
    fn empty() -> Self {
        Entry {
            key: Vec::new(),
            text: Vec::new(),
            method: 0..0,
            path: 0..0,
            user_agent: 0..0,
            client: 0..0,
            client_hash: 0,
            domain: None,
            local: None,
            category: 0,
            family: Family::Other,
            scanner: false,
            pending: 0,
            generation: u64::MAX,
            evidence: 0,
            activity: 0,
            evidence_hour: None,
            spooled: false,
        }
    }

    /// Adds the pending requests to the summary's count maps.
    fn flush(&mut self, s: &mut Summary, mailboxes: bool) {
        let n = std::mem::take(&mut self.pending);
        if n == 0 {
            return;
        }
        let t = &self.text;
        let c = &mut s.categories[self.category];
        c.methods.add(&t[self.method.clone()], n);
        c.paths.add(&t[self.path.clone()], n);
        c.families.add(self.family.id().as_bytes(), n);
        c.user_agents.add(&t[self.user_agent.clone()], n);
        c.clients.add(&t[self.client.clone()], n);
        if let Some(d) = &self.domain {
            let local = self.local.clone().map(|l| &t[l]);
            super::domains::note(
                &mut s.domains,
                &t[d.clone()],
                local,
                self.category,
                self.family,
                mailboxes,
                n,
            );
        }
    }
}

/// Values staged per key, indexed without hashing once found: `index` maps each key to its
/// value's place in `values`.
struct Stage<V> {
    index: HashMap<Box<[u8]>, usize, foldhash::fast::RandomState>,
    values: Vec<V>,
    /// Bytes of the keys held.
    bytes: usize,
}

impl<V: Tally> Stage<V> {
    fn new() -> Self {
        Stage {
            index: HashMap::default(),
            values: Vec::new(),
            bytes: 0,
        }
    }

    /// The index of `key`, added if new.
    fn find(&mut self, key: &[u8]) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.values.len();
        self.index.insert(key.into(), i);
        self.values.push(V::default());
        self.bytes += key.len();
        i
    }

    fn full(&self, l: Limits) -> bool {
        self.values.len() >= l.stage_keys || self.bytes >= l.stage_bytes
    }

    /// Hands every key and value to `absorb` (in no particular order: the maps they go to
    /// keep the same whatever the order), then empties the stage.
    fn drain(&mut self, mut absorb: impl FnMut(&[u8], &V)) {
        for (k, &i) in &self.index {
            absorb(k, &self.values[i]);
        }
        self.index.clear();
        self.values.clear();
        self.bytes = 0;
    }
}

/// How big a memo may grow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Entries in the table, in sets of [`WAYS`] (all of them one set when fewer): a power of
    /// two, at least 2.
    pub(crate) slots: usize,
    /// Most keys a stage holds before it is absorbed into the summary.
    pub(crate) stage_keys: usize,
    /// Most activity cells staged before the stages are absorbed.
    pub(crate) stage_cells: usize,
    /// Most bytes of keys a stage holds before it is absorbed.
    pub(crate) stage_bytes: usize,
    /// Most bytes the table's entries hold ([`TABLE_BYTES`]).
    pub(crate) table_bytes: usize,
    /// Noise lines over which the memo judges its misses ([`WINDOW`]; it stands aside for
    /// 15 windows).
    pub(crate) window: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            slots: SLOTS,
            stage_keys: STAGE_KEYS,
            stage_cells: STAGE_CELLS,
            stage_bytes: STAGE_BYTES,
            table_bytes: TABLE_BYTES,
            window: WINDOW,
        }
    }
}

/// A worker's memo (see the module's documentation).
pub(crate) struct Memo {
    limits: Limits,
    /// `limits.slots` entries, then one for a key too long to memoize.
    slots: Vec<Entry>,
    /// Per table entry, its key's hash with the lowest bit set, or 0 when it is free: a
    /// lookup reads the tags of its set (one cache line) and compares the key of an entry
    /// only when the tag matches.
    tags: Words,
    /// Per table entry, the lookup that used it last: a new key takes the entry of its set
    /// used least lately.
    used: Words,
    /// Lookups so far.
    clock: u64,
    hasher: foldhash::fast::RandomState,
    key: Vec<u8>,
    /// Whether full mailboxes are kept (the scan's setting).
    mailboxes: bool,
    generation: u64,
    evidence: Stage<Evidence>,
    activity: Stage<Activity>,
    cells: usize,
    /// Bytes the table's entries hold: the capacity of their keys and strings.
    bytes: usize,
    /// Lookups and misses in the current window, and the lines still to count without the
    /// table.
    looked: u32,
    missed: u32,
    aside: u32,
}

/// A word per table entry, the words of a set in one cache line of their own (the allocator
/// aligns a `Vec<u64>` to 16 bytes only: glibc starts a block this large 16 bytes into its
/// page, and every set of eight would straddle two lines).
struct Words(Vec<SetWords>);

/// The words of one set.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct SetWords([u64; WAYS]);

impl Words {
    /// Zeros for `entries` entries.
    fn new(entries: usize) -> Self {
        Words(vec![SetWords([0; WAYS]); entries.div_ceil(WAYS)])
    }

    /// The words of the set whose first entry is `first`.
    #[inline(always)]
    fn set(&self, first: usize) -> &[u64; WAYS] {
        &self.0[first / WAYS].0
    }

    /// [`Words::set`], to change.
    #[inline(always)]
    fn set_mut(&mut self, first: usize) -> &mut [u64; WAYS] {
        &mut self.0[first / WAYS].0
    }

    /// Every word.
    #[cfg(test)]
    fn all(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().flat_map(|s| s.0)
    }
}

impl std::ops::Index<usize> for Words {
    type Output = u64;

    #[inline(always)]
    fn index(&self, i: usize) -> &u64 {
        &self.0[i / WAYS].0[i % WAYS]
    }
}

impl std::ops::IndexMut<usize> for Words {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut u64 {
        &mut self.0[i / WAYS].0[i % WAYS]
    }
}

/// Appends `part` to `key`: a length (`u32::MAX` for a field not logged), then its bytes.
#[inline(always)]
fn push_part(key: &mut Vec<u8>, part: Option<&[u8]>) {
    match part {
        Some(p) => {
            key.extend_from_slice(&(p.len() as u32).to_le_bytes());
            key.extend_from_slice(p);
        }
        None => key.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

/// Where a line's entry is: a slot of the table, or no slot (a key too long to memoize, or a
/// line while the memo stands aside).
#[derive(Clone, Copy)]
pub(crate) enum Found {
    Hit(usize),
    Miss(Option<usize>, u64),
}

impl Memo {
    /// An empty memo; `mailboxes` is the scan's setting for full mailboxes.
    pub(crate) fn new(mailboxes: bool, limits: Limits) -> Self {
        let n = limits.slots;
        assert!(n >= 2 && n.is_power_of_two(), "memo slots: a power of two");
        Memo {
            limits,
            slots: (0..=n).map(|_| Entry::empty()).collect(),
            tags: Words::new(n),
            used: Words::new(n),
            clock: 0,
            hasher: foldhash::fast::RandomState::default(),
            key: Vec::with_capacity(MAX_KEY),
            mailboxes,
            generation: 0,
            evidence: Stage::new(),
            activity: Stage::new(),
            cells: 0,
            bytes: 0,
            looked: 0,
            missed: 0,
            aside: 0,
        }
    }

    /// Looks up the entry of a line's key fields, or, while the memo stands aside after a
    /// window of misses, says to work the line out on its own.
    #[inline]
    pub(crate) fn find(&mut self, f: &KeyFields<'_>) -> Found {
        if self.aside > 0 {
            self.aside -= 1;
            return Found::Miss(None, 0);
        }
        let found = self.look_up(f);
        self.looked += 1;
        // A key that finds a free entry is no sign of a flood: the first lines of a scan, or
        // of a wide fleet of clients, are all new (a real nginx log of 10,800 keys made the
        // memo stand aside for its first 60,000 probes on each worker).
        self.missed += u32::from(match found {
            Found::Hit(_) => false,
            Found::Miss(Some(way), _) => self.tags[way] != 0,
            Found::Miss(None, _) => true,
        });
        let window = self.limits.window;
        if self.looked >= window {
            if self.missed > window / 4 * 3 {
                self.aside = ASIDE * window;
            }
            (self.looked, self.missed) = (0, 0);
        }
        found
    }

    fn look_up(&mut self, f: &KeyFields<'_>) -> Found {
        let Some((set, hash)) = self.set_of(f) else {
            return Found::Miss(None, 0);
        };
        // Eight ways per set: the key is in one of them, or takes a free one or the one used
        // least lately.
        let ways = WAYS.min(self.limits.slots);
        let tag = hash | 1;
        self.clock += 1;
        // The set's words, read as the cache lines they are.
        let (tags, used) = (self.tags.set(set), self.used.set_mut(set));
        let entries = &self.slots[set..set + ways];
        let mut victim = 0;
        for lane in 0..ways {
            if tags[lane] == tag && entries[lane].key == self.key {
                used[lane] = self.clock;
                return Found::Hit(set + lane);
            }
            if used[lane] < used[victim] {
                victim = lane;
            }
        }
        used[victim] = self.clock;
        Found::Miss(Some(set + victim), hash)
    }

    /// Builds the key of `f` in `self.key`: its set and hash, or `None` when it is too long
    /// to memoize.
    #[inline(always)]
    fn set_of(&mut self, f: &KeyFields<'_>) -> Option<(usize, u64)> {
        let key = &mut self.key;
        key.clear();
        key.push(f.category as u8);
        key.push(f.escape as u8);
        push_part(key, f.method);
        push_part(key, Some(f.path));
        push_part(key, Some(f.query));
        push_part(key, f.host);
        push_part(key, f.user_agent);
        push_part(key, f.client);
        if key.len() > MAX_KEY {
            return None;
        }
        let hash = self.hasher.hash_one(&key[..]);
        let ways = WAYS.min(self.limits.slots);
        Some(((hash as usize) & (self.limits.slots - ways), hash))
    }

    /// Puts what a missed key makes of its request into the table (flushing the entry it
    /// replaces), or, for a key too long to memoize, into a scratch entry that the next
    /// [`Memo::settle_unkept`] flushes. Returns the entry's index.
    pub(crate) fn insert(
        &mut self,
        found: Found,
        category: usize,
        d: &Derived<'_>,
        s: &mut Summary,
    ) -> usize {
        let unkept = self.limits.slots;
        let (mut slot, hash) = match found {
            Found::Miss(Some(slot), hash) => (slot, hash),
            _ => (unkept, 0),
        };
        let st = &d.strings;
        let text = [st.method, st.path, st.user_agent, st.client]
            .iter()
            .map(|b| b.len())
            .sum::<usize>()
            + d.mail.map_or(0, |(domain, local)| {
                domain.len() + local.map_or(0, <[u8]>::len)
            });
        let held = |e: &Entry| e.key.capacity() + e.text.capacity();
        if slot != unkept {
            // The entry's buffers grow to exactly what this key needs, if the table may.
            let e = &self.slots[slot];
            let grown = e.key.capacity().max(self.key.len()) + e.text.capacity().max(text);
            if self.bytes - held(e) + grown > self.limits.table_bytes {
                slot = unkept;
            }
        }
        let mailboxes = self.mailboxes;
        if slot != unkept {
            self.tags[slot] = hash | 1;
        }
        let e = &mut self.slots[slot];
        let before = held(e);
        e.flush(s, mailboxes);
        let kept = slot != unkept;
        e.key.clear();
        if kept {
            e.key.reserve_exact(self.key.len());
            e.key.extend_from_slice(&self.key);
        }
        e.text.clear();
        e.text.reserve_exact(text);
        if kept {
            self.bytes = self.bytes - before + held(e);
        }
        let mut put = |b: &[u8]| {
            let start = e.text.len();
            e.text.extend_from_slice(b);
            start..e.text.len()
        };
        e.method = put(d.strings.method);
        e.path = put(d.strings.path);
        e.user_agent = put(d.strings.user_agent);
        e.client = put(d.strings.client);
        e.client_hash = super::evidence::client_hash(d.strings.client);
        e.domain = d.mail.map(|(domain, _)| put(domain));
        e.local = d.mail.and_then(|(_, local)| local).map(&mut put);
        e.category = category;
        e.family = d.family;
        e.scanner = d.scanner;
        e.generation = u64::MAX;
        e.spooled = false;
        slot
    }

    /// Counts one request of entry `i`: its pending counts, its path's evidence and, with a
    /// time, its client's activity. Returns what the entry says of the request; `spooling`
    /// when its line goes to the spool.
    #[inline]
    pub(crate) fn count(
        &mut self,
        i: usize,
        time: Option<i64>,
        activity: Option<(i64, u64)>,
        spooling: bool,
        s: &mut Summary,
    ) -> Counted<'_> {
        if i == self.limits.slots {
            self.count_directly(time, activity, s);
        } else {
            self.count_staged(i, time, activity, s);
        }
        let e = &mut self.slots[i];
        let define = spooling && !e.spooled;
        e.spooled |= spooling;
        let t = &e.text;
        Counted {
            scanner: e.scanner,
            family: e.family,
            define: define.then(|| Strings {
                method: &t[e.method.clone()],
                path: &t[e.path.clone()],
                user_agent: &t[e.user_agent.clone()],
                client: &t[e.client.clone()],
            }),
        }
    }

    /// Counts a request of the entry outside the table straight into the summary's maps (a
    /// key seen once gains nothing from a stage); [`Memo::settle_unkept`] adds its counts.
    fn count_directly(&mut self, time: Option<i64>, activity: Option<(i64, u64)>, s: &mut Summary) {
        let e = &mut self.slots[self.limits.slots];
        e.pending += 1;
        let (t, client) = (&e.text, &e.text[e.client.clone()]);
        let c = &mut s.categories[e.category];
        match c.evidence.slot(&t[e.path.clone()]) {
            Some(v) => v.add_hashed(e.client_hash, e.family, time),
            None => c.evidence.dropped(1),
        }
        if let Some((at, rt)) = activity {
            crate::summary::time::activity_key(e.category, client, &mut self.key);
            match s.activity.slot(&self.key) {
                Some(a) => a.add(at, rt),
                None => s.activity.dropped(1),
            }
        }
    }

    /// Counts a request of table entry `i`: its pending counts, and its evidence and activity
    /// in the stages.
    fn count_staged(
        &mut self,
        i: usize,
        time: Option<i64>,
        activity: Option<(i64, u64)>,
        s: &mut Summary,
    ) {
        if self.slots[i].generation != self.generation {
            self.locate(i);
        }
        let e = &mut self.slots[i];
        e.pending += 1;
        let hour = Some(time.map(|t| t.div_euclid(3600)));
        let evidence = &mut self.evidence.values[e.evidence];
        if e.evidence_hour == hour {
            evidence.requests += 1;
        } else {
            evidence.add_hashed(e.client_hash, e.family, time);
            e.evidence_hour = hour;
        }
        if let Some((t, rt)) = activity {
            let a = &mut self.activity.values[e.activity];
            let before = a.cells.len();
            a.add(t, rt);
            self.cells += a.cells.len() - before;
        }
        let l = self.limits;
        if self.cells >= l.stage_cells || self.evidence.full(l) || self.activity.full(l) {
            self.drain_stages(s);
        }
    }

    /// Finds entry `i`'s evidence and activity in the stages of this generation.
    fn locate(&mut self, i: usize) {
        let e = &mut self.slots[i];
        let t = &e.text;
        self.key.clear();
        self.key.push(e.category as u8);
        self.key.extend_from_slice(&t[e.path.clone()]);
        e.evidence = self.evidence.find(&self.key);
        crate::summary::time::activity_key(e.category, &t[e.client.clone()], &mut self.key);
        e.activity = self.activity.find(&self.key);
        e.generation = self.generation;
        e.evidence_hour = None;
    }

    /// Flushes the scratch entry of a key too long to memoize, if `i` is it.
    #[inline]
    pub(crate) fn settle_unkept(&mut self, i: usize, s: &mut Summary) {
        if i == self.limits.slots {
            let mailboxes = self.mailboxes;
            self.slots[i].flush(s, mailboxes);
        }
    }

    /// Absorbs both stages into the summary and starts a new generation.
    fn drain_stages(&mut self, s: &mut Summary) {
        self.evidence.drain(|k, v| {
            let c = &mut s.categories[usize::from(k[0])];
            c.evidence.absorb(&k[1..], v);
        });
        self.activity.drain(|k, v| {
            // A client whose lines had no time has an entry here but no activity.
            if !v.cells.is_empty() {
                s.activity.absorb(k, v);
            }
        });
        self.cells = 0;
        self.generation += 1;
    }

    fn flush_entries(&mut self, s: &mut Summary) {
        let mailboxes = self.mailboxes;
        for e in &mut self.slots {
            e.flush(s, mailboxes);
        }
    }

    /// The bytes the table counts, the capacity its entries' buffers hold, and the entries
    /// in use.
    #[cfg(test)]
    pub(crate) fn table_bytes(&self) -> (usize, usize, usize) {
        let table = &self.slots[..self.limits.slots];
        (
            self.bytes,
            table
                .iter()
                .map(|e| e.key.capacity() + e.text.capacity())
                .sum(),
            self.tags.all().filter(|&t| t != 0).count(),
        )
    }

    /// Writes everything the memo holds into the summary (the scan's end).
    pub(crate) fn flush(&mut self, s: &mut Summary) {
        self.flush_entries(s);
        self.drain_stages(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Caps;

    /// The key fields of a probe from `client`.
    fn fields(client: &str) -> KeyFields<'_> {
        KeyFields {
            category: 0,
            escape: Escape::None,
            method: Some(b"POST"),
            path: b"/autodiscover/autodiscover.xml",
            query: b"",
            host: None,
            user_agent: Some(b"Microsoft Office/16.0"),
            client: Some(client.as_bytes()),
        }
    }

    /// Looks up (and on a miss inserts) the key of a probe from `client`.
    fn probe(memo: &mut Memo, s: &mut Summary, client: &str) {
        let found = memo.find(&fields(client));
        if !matches!(found, Found::Hit(_)) {
            let derived = Derived {
                family: Family::Other,
                scanner: false,
                strings: Strings {
                    method: b"POST",
                    client: client.as_bytes(),
                    path: b"/autodiscover/autodiscover.xml",
                    user_agent: b"Microsoft Office/16.0",
                },
                mail: None,
            };
            let i = memo.insert(found, 0, &derived, s);
            memo.settle_unkept(i, s);
        }
    }

    /// A memo of 64 entries judged every 16 lines.
    fn small() -> (Memo, Summary) {
        let limits = Limits {
            slots: 64,
            window: 16,
            ..Limits::default()
        };
        (Memo::new(false, limits), Summary::new(&Caps::default()))
    }

    /// The first lines of a scan are all new keys: filling free entries, they do not make the
    /// memo stand aside, and the keys, seen again, are found. The hasher's seed is random, so
    /// what is expected follows from the sets the keys fell in this time: a set that drew more
    /// keys than it has ways misses each of them in turn and keeps the last [`WAYS`].
    #[test]
    fn new_keys_that_find_room_are_no_flood() {
        let (mut memo, mut s) = small();
        let clients: Vec<String> = (0..40).map(|c| format!("10.0.0.{c}")).collect();
        let mut drawn = HashMap::<usize, usize>::new();
        for c in &clients {
            *drawn.entry(memo.set_of(&fields(c)).unwrap().0).or_default() += 1;
        }
        // Keys of crowded sets, the only ones whose misses push another key out; a window
        // of 16 lines stands aside past 12 such misses.
        let crowded: usize = drawn.values().filter(|&&n| n > WAYS).sum();
        for round in 0..3 {
            for c in &clients {
                probe(&mut memo, &mut s, c);
            }
            if crowded <= 12 {
                assert_eq!(
                    memo.aside, 0,
                    "round {round}, {crowded} keys in crowded sets"
                );
            }
        }
        let hits = clients
            .iter()
            .filter(|c| matches!(memo.look_up(&fields(c)), Found::Hit(_)))
            .count();
        let want: usize = drawn.values().map(|&n| n.min(WAYS)).sum();
        assert_eq!(hits, want, "keys found, sets drawn {drawn:?}");
    }

    /// [`WAYS`] keys of one set are all kept: a set has that many ways.
    #[test]
    fn a_set_holds_as_many_keys_as_it_has_ways() {
        let (mut memo, mut s) = small();
        // Of 1,000 clients over 64 / WAYS sets, some set draws at least 1000 * WAYS / 64.
        let mut by_set = HashMap::<usize, Vec<String>>::new();
        for c in 0..1000 {
            let client = format!("10.0.{}.{}", c / 256, c % 256);
            let set = memo.set_of(&fields(&client)).unwrap().0;
            by_set.entry(set).or_default().push(client);
        }
        let same = &by_set.into_values().find(|v| v.len() >= WAYS).unwrap()[..WAYS];
        for _ in 0..2 {
            for c in same {
                probe(&mut memo, &mut s, c);
            }
        }
        for c in same {
            assert!(matches!(memo.look_up(&fields(c)), Found::Hit(_)), "{c}");
        }
    }

    /// Keys that never repeat push others out once the table is full: the memo stands aside.
    #[test]
    fn a_flood_of_keys_that_never_repeat_makes_the_memo_stand_aside() {
        let (mut memo, mut s) = small();
        let mut stood_aside = false;
        for c in 0..200 {
            probe(&mut memo, &mut s, &format!("192.0.2.{c}"));
            stood_aside |= memo.aside > 0;
        }
        assert!(stood_aside);
    }
}
