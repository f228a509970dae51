//! Who sends mail-client noise: the client [`Family`] of a user agent, and [`is_scanner`], the
//! guess that a noise request is an exploit scan or a script rather than a mail client.
//!
//! This module owns the user-agent tokens of the mail clients, mail servers and tools that
//! probe for mail settings, and the order they are tried in. It looks at one request at a time
//! (user agent, noise category, path, query) and must not allocate, keep state, or judge by
//! addresses or volumes: attack tools copy Outlook's user agent, so a family is what a request
//! *claims* to be, and telling a real fleet from a scanner by its spread over time and
//! addresses belongs to the analysis that sees all requests.
//!
//! A user agent is read once, whatever its length and content: every token is found in one
//! pass of a case-insensitive multi-pattern automaton (Aho-Corasick), built once per process.

use super::Category;
use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memchr2;
use std::hash::BuildHasher;
use std::sync::LazyLock;

/// Who sent a request, from its user agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Family {
    /// Outlook and the other Office apps on Windows, with Office's WebDAV probes:
    /// `Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.x; Pro)`, or `MAPI`
    /// in place of `Microsoft Outlook`.
    OutlookDesktop,
    /// Outlook and Office for Mac (`MacOutlook/16.x`, `Microsoft Office/... (Macintosh; ...)`).
    OutlookMac,
    /// Outlook for iOS and Android and Microsoft's cloud service that probes on their behalf
    /// (`OutlookMobileCloudService-Autodetect`, `Outlook-iOS`, `Outlook-Android`).
    OutlookMobile,
    /// Apple's mail, calendar and contacts clients on iOS and macOS (`dataaccessd`,
    /// `Apple-iPhone...`, `Mail/...`, `iOS/...`).
    AppleMail,
    /// Thunderbird on any desktop, and K-9 Mail / Thunderbird for Android when it names itself.
    Thunderbird,
    /// Android mail apps (`okhttp`, `Android-Mail`, Samsung Email, `Dalvik`).
    AndroidMail,
    /// Sending mail servers fetching an MTA-STS policy under a name of their own
    /// (`postfix-mta-sts-resolver`).
    MtaSts,
    /// HTTP libraries, command-line tools and scanners (`python-requests`, `curl`,
    /// `Go-http-client`, `zgrab`, `Nuclei`, ...), and an empty or `-` user agent.
    Script,
    /// Anything else, browsers included.
    Other,
}

impl Family {
    /// Every family, in declaration order.
    pub(crate) const ALL: [Family; 9] = [
        Family::OutlookDesktop,
        Family::OutlookMac,
        Family::OutlookMobile,
        Family::AppleMail,
        Family::Thunderbird,
        Family::AndroidMail,
        Family::MtaSts,
        Family::Script,
        Family::Other,
    ];

    /// A mail client or mail server, not a script, a browser or an unknown agent.
    pub(crate) fn is_mail(self) -> bool {
        !matches!(self, Family::Script | Family::Other)
    }

    /// Stable id used in JSON (same as the serde name): "outlook-desktop", ...
    pub(crate) fn id(self) -> &'static str {
        match self {
            Family::OutlookDesktop => "outlook-desktop",
            Family::OutlookMac => "outlook-mac",
            Family::OutlookMobile => "outlook-mobile",
            Family::AppleMail => "apple-mail",
            Family::Thunderbird => "thunderbird",
            Family::AndroidMail => "android-mail",
            Family::MtaSts => "mta-sts",
            Family::Script => "script",
            Family::Other => "other",
        }
    }

    #[cfg(test)]
    /// For people: "Outlook desktop", ...
    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::OutlookDesktop => "Outlook desktop",
            Family::OutlookMac => "Outlook for Mac",
            Family::OutlookMobile => "Outlook mobile",
            Family::AppleMail => "Apple Mail",
            Family::Thunderbird => "Thunderbird",
            Family::AndroidMail => "Android mail apps",
            Family::MtaSts => "MTA-STS resolvers",
            Family::Script => "scripts and scanners",
            Family::Other => "other",
        }
    }
}

// Tokens are lower-case and matched ignoring ASCII case, anywhere in the user agent unless
// named a prefix.
const OUTLOOK_MOBILE: &[&[u8]] = &[
    b"outlookmobile",
    b"outlook-ios",
    b"outlook-android",
    b"office mobile",
];
const OFFICE: &[&[u8]] = &[b"microsoft office", b"microsoft outlook"];
const MAC: &[&[u8]] = &[b"macintosh", b"mac os", b"mac_os"];
const OUTLOOK_DESKTOP: &[&[u8]] = &[
    b"microsoft office",
    b"outlook",
    b"microsoft-webdav-miniredir",
];
const THUNDERBIRD: &[&[u8]] = &[
    b"thunderbird",
    b"icedove",
    b"betterbird",
    b"k-9 mail",
    b"k9mail",
];
const APPLE: &[&[u8]] = &[
    b"dataaccessd",
    b"accountsd",
    b"apple-iphone",
    b"apple-ipad",
    b"apple-ipod",
    b"calendaragent",
    b"addressbook",
];
/// Prefixes: these words also occur inside browser user agents (`like Mac OS X`).
const APPLE_PREFIX: &[&[u8]] = &[
    b"ios/",
    b"ipados/",
    b"iphone os/",
    b"macos/",
    b"mac os x/",
    b"mac_os_x/",
    b"mail/",
];
const ANDROID: &[&[u8]] = &[
    b"okhttp",
    b"android-mail",
    b"samsungemail",
    b"samsung email",
    b"dalvik/",
];
const ANDROID_PREFIX: &[&[u8]] = &[b"android/"];
const MTA_STS: &[&[u8]] = &[b"mta-sts", b"mtasts", b"mta_sts"];

/// HTTP libraries a program uses under its default user agent (scripts, with [`TOOL`]): how
/// sending mail servers built on them fetch an MTA-STS policy (a Go resolver sends
/// `Go-http-client/1.1`, a Python one its library's name), as opposed to the command-line tools
/// and scanners of [`TOOL`].
const LIBRARY: &[&[u8]] = &[
    b"go-http-client",
    b"python",
    b"aiohttp",
    b"httpclient",
    b"java/",
    b"node-fetch",
    b"axios/",
    b"fasthttp",
    b"reqwest",
    b"guzzlehttp",
    b"okhttp",
];

/// Command-line tools and scanners (scripts, with [`LIBRARY`]): a user agent naming one of
/// them is no mail server, whatever library it also names.
const TOOL: &[&[u8]] = &[
    b"curl/",
    b"libcurl",
    b"wget",
    b"zgrab",
    b"libwww-perl",
    b"nuclei",
    b"masscan",
    b"nmap",
    b"sqlmap",
    b"nikto",
    b"powershell",
    b"censysinspect",
    b"expanse",
    b"l9explore",
    b"scrapy",
];

// The groups of tokens, one bit each, as the automaton reports them.
const G_MOBILE: u16 = 1 << 0;
const G_MACOUTLOOK: u16 = 1 << 1;
const G_OFFICE: u16 = 1 << 2;
const G_MAC: u16 = 1 << 3;
const G_DESKTOP: u16 = 1 << 4;
const G_THUNDERBIRD: u16 = 1 << 5;
const G_APPLE: u16 = 1 << 6;
const G_ANDROID: u16 = 1 << 7;
const G_MTA_STS: u16 = 1 << 8;
const G_SCRIPT: u16 = 1 << 9;
const G_LIBRARY: u16 = 1 << 10;
const G_TOOL: u16 = 1 << 11;

const GROUPS: &[(&[&[u8]], u16)] = &[
    (OUTLOOK_MOBILE, G_MOBILE),
    (&[b"macoutlook"], G_MACOUTLOOK),
    (OFFICE, G_OFFICE),
    (MAC, G_MAC),
    (OUTLOOK_DESKTOP, G_DESKTOP),
    (THUNDERBIRD, G_THUNDERBIRD),
    (APPLE, G_APPLE),
    (ANDROID, G_ANDROID),
    (MTA_STS, G_MTA_STS),
    (LIBRARY, G_SCRIPT | G_LIBRARY),
    (TOOL, G_SCRIPT | G_TOOL),
];

/// Every token once, in one automaton, with the groups each belongs to.
struct Tokens {
    automaton: AhoCorasick,
    groups: Vec<u16>,
}

static TOKENS: LazyLock<Tokens> = LazyLock::new(|| {
    let (mut patterns, mut groups): (Vec<&[u8]>, Vec<u16>) = (Vec::new(), Vec::new());
    for &(tokens, bit) in GROUPS {
        for &t in tokens {
            match patterns.iter().position(|&p| p == t) {
                Some(i) => groups[i] |= bit,
                None => {
                    patterns.push(t);
                    groups.push(bit);
                }
            }
        }
    }
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .expect("the user-agent tokens build an automaton");
    Tokens { automaton, groups }
});

#[cfg(test)]
thread_local! {
    /// Bytes read by the automaton on this thread, to count the work of [`family`].
    static READ: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The groups of the tokens that occur in `ua`, ignoring ASCII case: one pass over `ua`.
fn groups_in(ua: &[u8]) -> u16 {
    #[cfg(test)]
    READ.with(|r| r.set(r.get() + ua.len()));
    let tokens = &*TOKENS;
    tokens
        .automaton
        .find_overlapping_iter(ua)
        .fold(0, |seen, m| seen | tokens.groups[m.pattern().as_usize()])
}

/// The family of a user agent (bytes as logged, already unescaped), ignoring ASCII case.
///
/// Tried in this order, the first match winning: empty or `-` (Script); Outlook mobile
/// (before anything matching `iOS` or `Android`); Outlook for Mac (before desktop: its user
/// agent also names Microsoft Office/Outlook); Outlook desktop; Thunderbird (before Apple: it
/// may name `Mac OS X`); Apple; Android; MTA-STS (before Script: a resolver may name its HTTP
/// library); Script; Other. Reads `ua` once (see [`groups_in`]) and never allocates.
pub(crate) fn family(ua: &[u8]) -> Family {
    let ua = ua.trim_ascii();
    if ua.is_empty() || ua == b"-" {
        return Family::Script;
    }
    let seen = groups_in(ua);
    let any = |group: u16| seen & group != 0;
    if any(G_MOBILE) {
        Family::OutlookMobile
    } else if any(G_MACOUTLOOK) || (any(G_OFFICE) && any(G_MAC)) {
        Family::OutlookMac
    } else if any(G_DESKTOP) {
        Family::OutlookDesktop
    } else if any(G_THUNDERBIRD) {
        Family::Thunderbird
    } else if any(G_APPLE) || any_prefix(ua, APPLE_PREFIX) {
        Family::AppleMail
    } else if any(G_ANDROID) || any_prefix(ua, ANDROID_PREFIX) {
        Family::AndroidMail
    } else if any(G_MTA_STS) {
        Family::MtaSts
    } else if any(G_SCRIPT) {
        Family::Script
    } else {
        Family::Other
    }
}

/// The family of a request of `category` whose user agent `ua` is of family `fam`: an MTA-STS
/// policy fetched by an HTTP library under its default user agent, or with none, is a sending
/// mail server checking the policy (RFC 8461 has it fetched from exactly that path, by the
/// MTA), so it counts as [`Family::MtaSts`] there, not as a script. Anywhere else, and for
/// command-line tools and scanners (`curl`, `zgrab`, `Nuclei`, ...), `fam` is kept.
pub(crate) fn in_category(fam: Family, category: &Category, ua: &[u8]) -> Family {
    if fam != Family::Script || category.id != "mta-sts" {
        return fam;
    }
    let ua = ua.trim_ascii();
    let resolver = ua.is_empty() || ua == b"-" || {
        let seen = groups_in(ua);
        seen & G_LIBRARY != 0 && seen & G_TOOL == 0
    };
    if resolver {
        Family::MtaSts
    } else {
        fam
    }
}

/// The family of a user agent, remembered: a log repeats the same few user agents thousands
/// of times, and a hash and a compare are cheaper than the automaton, so a worker asks this
/// cache instead: a two-way set-associative table of 256 user agents (128 sets; a miss
/// replaces the set's older entry), each at most 256 bytes (longer ones are not kept), so it
/// holds at most 64 KiB. Two ways, because with one, two user agents that share a slot evict
/// each other on every line of a storm that alternates them.
pub(crate) struct FamilyCache {
    slots: Vec<Option<(Box<[u8]>, Family)>>,
    /// Per set: which of its two ways was used last.
    recent: Vec<u8>,
}

impl FamilyCache {
    const SETS: usize = 128;
    const LONGEST: usize = 256;

    /// An empty cache.
    pub(crate) fn new() -> Self {
        FamilyCache {
            slots: vec![None; 2 * Self::SETS],
            recent: vec![0; Self::SETS],
        }
    }

    /// The same as [`family`]`(ua)`.
    pub(crate) fn family(&mut self, ua: &[u8]) -> Family {
        if ua.len() > Self::LONGEST {
            return family(ua);
        }
        let hash = foldhash::fast::FixedState::with_seed(0).hash_one(ua);
        let set = hash as usize % Self::SETS;
        for way in 0..2 {
            if let Some((seen, fam)) = &self.slots[2 * set + way] {
                if **seen == *ua {
                    self.recent[set] = way as u8;
                    return *fam;
                }
            }
        }
        let fam = family(ua);
        let way = 1 - usize::from(self.recent[set]);
        self.slots[2 * set + way] = Some((ua.into(), fam));
        self.recent[set] = way as u8;
        fam
    }
}

impl Default for FamilyCache {
    fn default() -> Self {
        Self::new()
    }
}

/// `true` when a noise request looks like an exploit scan or a script rather than a mail
/// client: any request whose family is `Script`; an `autodiscover.json` path whose query
/// carries a ProxyShell-style payload (see below); or an Exchange server endpoint (a category
/// marked [`Category::server_endpoint`]) from a user agent of no known client (`Other`).
///
/// `category` is the noise category, `path` the request path
/// (no query), `query` the raw query string after `?` (may be empty), `fam` the result of
/// [`family`]. A ProxyShell-style query (ignoring ASCII case, `%40`, `%3F`, `%2F` and `%26`
/// read as `@`, `?`, `/` and `&`) names `powershell` or `autodiscover.json`, or holds an `@`
/// that opens it or follows a `?` (`?@host/...`), or that a `/` follows within its
/// parameter (`a=x@host/mapi/`). A plain mailbox (`Email=user@example.com&Protocol=...`), as
/// Outlook's own Autodiscover v2 requests carry it, is none of these.
pub(crate) fn is_scanner(category: &Category, path: &[u8], query: &[u8], fam: Family) -> bool {
    fam == Family::Script
        || (has(path, b"autodiscover.json") && proxyshell_query(query))
        || (fam == Family::Other && category.server_endpoint)
}

/// See [`is_scanner`].
fn proxyshell_query(q: &[u8]) -> bool {
    has(q, b"powershell") || has(q, b"autodiscover.json") || ssrf_at(q)
}

/// An `@` at the start of the query or after a `?`, or followed by a `/` before the next `&`.
fn ssrf_at(q: &[u8]) -> bool {
    let mut prev = b'?'; // the query's own `?`
    let mut after_at = false;
    let mut i = 0;
    while i < q.len() {
        let (b, len) = unit(q, i);
        match b {
            b'@' if prev == b'?' => return true,
            b'@' => after_at = true,
            b'/' if after_at => return true,
            b'&' => after_at = false,
            _ => {}
        }
        prev = b;
        i += len;
    }
    false
}

/// The query byte at `i` with the escapes that matter decoded, and its length in the query.
fn unit(q: &[u8], i: usize) -> (u8, usize) {
    let decoded = match q.get(i..i + 3) {
        Some([b'%', b'4', b'0']) => Some(b'@'),
        Some([b'%', b'3', b'f' | b'F']) => Some(b'?'),
        Some([b'%', b'2', b'f' | b'F']) => Some(b'/'),
        Some([b'%', b'2', b'6']) => Some(b'&'),
        _ => None,
    };
    match decoded {
        Some(b) => (b, 3),
        None => (q[i], 1),
    }
}

/// `true` when `hay` holds `needle` (lower-case ASCII), ignoring ASCII case.
fn has(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut from = 0;
    while let Some(i) = memchr2(first, first.to_ascii_uppercase(), &hay[from..]) {
        let at = from + i;
        match hay.get(at + 1..at + needle.len()) {
            Some(tail) if tail.eq_ignore_ascii_case(rest) => return true,
            Some(_) => from = at + 1,
            None => return false,
        }
    }
    false
}

fn any_prefix(hay: &[u8], prefixes: &[&[u8]]) -> bool {
    prefixes.iter().any(|p| {
        hay.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner_of(id: &str, path: &[u8], query: &[u8], fam: Family) -> bool {
        let category = super::super::CATEGORIES
            .iter()
            .find(|c| c.id == id)
            .unwrap();
        is_scanner(category, path, query, fam)
    }

    #[test]
    fn policy_fetches_by_http_libraries_are_mta_sts_resolvers_not_scans() {
        let category = |id: &str| {
            super::super::CATEGORIES
                .iter()
                .find(|c| c.id == id)
                .unwrap()
        };
        let (sts, ad) = (category("mta-sts"), category("autodiscover"));
        let of = |c: &Category, ua: &str| in_category(family(ua.as_bytes()), c, ua.as_bytes());
        let path = b"/.well-known/mta-sts.txt";
        for ua in [
            "Go-http-client/1.1",
            "Go-http-client/2.0",
            "",
            "-",
            "Python/3.11 aiohttp/3.9.1",
            "python-requests/2.31.0",
            "Java/17.0.9",
            "Apache-HttpClient/4.5.14 (Java/17.0.9)",
        ] {
            assert_eq!(of(sts, ua), Family::MtaSts, "{ua:?}");
            assert!(!is_scanner(sts, path, b"", of(sts, ua)), "{ua:?}");
            // The same agents anywhere else stay scripts.
            assert_eq!(of(ad, ua), Family::Script, "{ua:?}");
        }
        for ua in [
            "curl/8.5.0",
            "Wget/1.21.4",
            "Mozilla/5.0 zgrab/0.x",
            "Nuclei - Open-source project (github.com/projectdiscovery/nuclei) Go-http-client/1.1",
        ] {
            assert_eq!(of(sts, ua), Family::Script, "{ua:?}");
            assert!(is_scanner(sts, path, b"", of(sts, ua)), "{ua:?}");
        }
        // Named resolvers and browsers are what they were.
        assert_eq!(of(sts, "postfix-mta-sts-resolver/1.4"), Family::MtaSts);
        assert_eq!(of(sts, "Mozilla/5.0 (X11; Linux x86_64)"), Family::Other);
    }

    use Family::*;

    /// Real-world user agents and their families.
    const CASES: &[(&str, Family)] = &[
            // Outlook on Windows.
            (
                "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
                OutlookDesktop,
            ),
            (
                "Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.17928; Pro)",
                OutlookDesktop,
            ),
            (
                "Microsoft Office/15.0 (Windows NT 6.1; Microsoft Outlook 15.0.5553; Pro)",
                OutlookDesktop,
            ),
            (
                "Microsoft Office/12.0 (Windows NT 6.1; Microsoft Office Outlook 12.0.6739; Pro)",
                OutlookDesktop,
            ),
            ("Microsoft Office Protocol Discovery", OutlookDesktop),
            ("Microsoft-WebDAV-MiniRedir/10.0.19045", OutlookDesktop),
            ("microsoft office/16.0 (windows nt 10.0; microsoft outlook 16.0.16827; pro)", OutlookDesktop),
            // Outlook for Mac: names Macintosh and Microsoft Outlook.
            (
                "MacOutlook/16.89.24091630 (Intelx64 Mac OS X 14.6.1 (Build 23G93))",
                OutlookMac,
            ),
            (
                "Microsoft Office/16.0 (Macintosh; Mac OS X 10.15; Microsoft Outlook 16.89)",
                OutlookMac,
            ),
            // Outlook mobile and Microsoft's cloud, not iOS Mail nor Android mail.
            ("OutlookMobileCloudService-Autodetect/1.0.0", OutlookMobile),
            ("Outlook-iOS/723.4027091.prod.iphone (4.2411.0)", OutlookMobile),
            ("Outlook-Android/2.0", OutlookMobile),
            ("Outlook-iOS-Android/1.0", OutlookMobile),
            // Apple.
            ("iOS/17.5 (21F79) dataaccessd/1.0", AppleMail),
            ("iPhone OS/9.3.5 (13G36) dataaccessd/1.0", AppleMail),
            ("Apple-iPhone13C2/2103.220", AppleMail),
            ("Apple-iPad8C1/1905.258", AppleMail),
            ("MacOS/14.4 (23E214) dataaccessd/1.0", AppleMail),
            ("Mail/3774.500.171 CFNetwork/1496.0.7 Darwin/23.5.0", AppleMail),
            (
                "Mac OS X/10.15.7 (19H2026); ExchangeWebServices/9.0 (292); Mail/13.4 (3608.120.23.2.7)",
                AppleMail,
            ),
            ("accountsd/113 CFNetwork/1390 Darwin/22.0.0", AppleMail),
            ("Mac OS X/10.14 (18A391) CalendarAgent/416", AppleMail),
            // Thunderbird: names Mozilla, Gecko and maybe Mac OS X.
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0",
                Thunderbird,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.16.0",
                Thunderbird,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Thunderbird/128.3.0",
                Thunderbird,
            ),
            ("K-9 Mail/6.802", Thunderbird),
            // Android.
            ("okhttp/4.9.3", AndroidMail),
            ("okhttp/4.12.0", AndroidMail),
            ("Android-Mail/2023.08.06.561713612.Release", AndroidMail),
            ("SamsungEmail/6.1.90.16", AndroidMail),
            ("Android/4.4.2-EAS-2.0", AndroidMail),
            (
                "Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)",
                AndroidMail,
            ),
            // MTA-STS resolvers.
            ("postfix-mta-sts-resolver", MtaSts),
            ("elemta-mtasts/1.0", MtaSts),
            // Scripts and scanners.
            ("", Script),
            ("-", Script),
            (" - ", Script),
            ("Mozilla/5.0 zgrab/0.x", Script),
            ("Go-http-client/1.1", Script),
            ("python-requests/2.31.0", Script),
            ("Python/3.11 aiohttp/3.9.1", Script),
            ("curl/8.5.0", Script),
            ("Wget/1.21.4", Script),
            ("libwww-perl/6.72", Script),
            (
                "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
                Script,
            ),
            ("masscan/1.3 (https://github.com/robertdavidgraham/masscan)", Script),
            (
                "Mozilla/5.0 (Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4522",
                Script,
            ),
            ("Apache-HttpClient/4.5.14 (Java/17.0.9)", Script),
            // Browsers and the rest.
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
                Other,
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                Other,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                Other,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
                Other,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                Other,
            ),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                Other,
            ),
            ("Mozilla/5.0", Other),
        ];

    #[test]
    fn families_of_real_user_agents() {
        for &(ua, want) in CASES {
            assert_eq!(family(ua.as_bytes()), want, "{ua:?}");
        }
    }

    #[test]
    fn ids_are_the_serde_names_and_distinct() {
        for (i, f) in Family::ALL.iter().enumerate() {
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.id()));
            assert!(!f.name().is_empty());
            assert!(Family::ALL[..i].iter().all(|g| g.id() != f.id()));
        }
        assert!(Family::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn proxyshell_autodiscover_json_is_a_scan() {
        let json = b"/autodiscover/autodiscover.json";
        let outlook =
            family(b"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)");
        for q in [
            &b"@zdi/Powershell"[..],
            b"Email=autodiscover/autodiscover.json%3F@foo.com",
            b"Email=autodiscover/autodiscover.json%3f@foo.com&Protocol=Powershell",
            b"@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com",
            b"a=ictbv@ihfpz.hgd/mapi/nspi/",
            b"%40evil.com/owa/",
            b"x=1?@evil.com",
        ] {
            let q_str = String::from_utf8_lossy(q);
            assert!(scanner_of("autodiscover", json, q, outlook), "{q_str}");
            assert!(
                scanner_of(
                    "autodiscover",
                    b"/Autodiscover/Autodiscover.json",
                    q,
                    Family::OutlookMobile
                ),
                "{q_str}"
            );
        }
    }

    #[test]
    fn mail_clients_are_not_scans() {
        let outlook =
            family(b"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)");
        let mobile = family(b"OutlookMobileCloudService-Autodetect/1.0.0");
        let json = b"/autodiscover/autodiscover.json";
        assert!(!scanner_of(
            "autodiscover",
            b"/autodiscover/autodiscover.xml",
            b"",
            outlook
        ));
        assert!(!scanner_of(
            "autodiscover",
            b"/Autodiscover/Autodiscover.xml",
            b"",
            Family::AppleMail
        ));
        assert!(!scanner_of(
            "autodiscover",
            json,
            b"Email=a@b.c&Protocol=ActiveSync",
            mobile
        ));
        assert!(!scanner_of(
            "autodiscover",
            json,
            b"Email=user%40example.com&Protocol=Rest",
            mobile
        ));
        assert!(!scanner_of(
            "autodiscover",
            b"/autodiscover/autodiscover.json/v1.0/user@example.com",
            b"Protocol=ActiveSync",
            mobile
        ));
        assert!(!scanner_of("ews", b"/EWS/Exchange.asmx", b"", outlook));
        assert!(!scanner_of(
            "activesync",
            b"/Microsoft-Server-ActiveSync",
            b"",
            Family::AppleMail
        ));
        assert!(!scanner_of(
            "autoconfig",
            b"/mail/config-v1.1.xml",
            b"emailaddress=user%40example.org",
            Family::Thunderbird
        ));
        // A browser is no mail client, but it may open a link to an autodiscover file.
        assert!(!scanner_of(
            "autodiscover",
            b"/autodiscover.xml",
            b"",
            Family::Other
        ));
        assert!(!scanner_of(
            "dav",
            b"/.well-known/caldav",
            b"",
            Family::Other
        ));
    }

    #[test]
    fn scripts_and_strangers_on_exchange_endpoints_are_scans() {
        let browser = family(b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36");
        assert_eq!(browser, Family::Other);
        assert!(scanner_of("owa", b"/owa/auth/logon.aspx", b"", browser));
        for id in ["ews", "owa", "exchange", "activesync"] {
            assert!(scanner_of(id, b"/x", b"", Family::Other), "{id}");
        }
        let script = family(b"python-requests/2.31.0");
        assert!(scanner_of(
            "autodiscover",
            b"/autodiscover/autodiscover.xml",
            b"",
            script
        ));
        assert!(scanner_of(
            "mta-sts",
            b"/.well-known/mta-sts.txt",
            b"",
            family(b"Go-http-client/1.1")
        ));
        assert!(scanner_of(
            "dav",
            b"/.well-known/carddav",
            b"",
            family(b"-")
        ));
        assert!(!scanner_of(
            "mta-sts",
            b"/.well-known/mta-sts.txt",
            b"",
            family(b"postfix-mta-sts-resolver")
        ));
    }

    #[test]
    fn matching_ignores_case_and_stays_in_bounds() {
        assert!(has(b"xxOKHTTP/4", b"okhttp"));
        assert!(has(b"okhttp", b"okhttp"));
        assert!(!has(b"okhtt", b"okhttp"));
        assert!(!has(b"ok", b"okhttp"));
        assert!(has(b"anything", b""));
        assert!(!has(b"", b"o"));
        assert!(has(b"oookhttp", b"okhttp"));
        assert!(any_prefix(b"IOS/17.5", &[b"ios/"]));
        assert!(!any_prefix(b"io", &[b"ios/"]));
        assert!(!ssrf_at(b""));
        assert!(!ssrf_at(b"%4"));
        assert!(!ssrf_at(b"a=%"));
    }

    #[test]
    fn an_agent_is_read_once_whatever_its_content() {
        for (filler, want) in [
            ("m", Other),
            ("x", Other),
            ("microsof", Other),
            ("Mac OS ", Other),
            ("outloo", Other),
            ("python", Script),
        ] {
            for office in ["", "Microsoft Office/16.0 "] {
                let ua = format!("{office}({})", filler.repeat(8000 / filler.len()));
                READ.with(|r| r.set(0));
                let got = family(ua.as_bytes());
                assert_eq!(READ.with(|r| r.get()), ua.len(), "{filler}: read once");
                let want = match (office, want) {
                    ("", w) => w,
                    _ if filler == "Mac OS " => OutlookMac,
                    _ => OutlookDesktop,
                };
                assert_eq!(got, want, "{office}{filler}");
            }
        }
    }

    #[test]
    fn the_cache_answers_as_family_does() {
        let mut cache = FamilyCache::new();
        let long = format!("Microsoft Office/16.0 {}", "x".repeat(300));
        let agents = [
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
            "python-requests/2.31.0",
            "-",
            "Thunderbird/115.0",
            long.as_str(),
        ];
        for _ in 0..3 {
            for ua in agents {
                assert_eq!(cache.family(ua.as_bytes()), family(ua.as_bytes()), "{ua}");
            }
        }
        // Many distinct agents share slots; each answer is still its own.
        for n in 0..1000 {
            let ua = format!("Outlook-iOS/{n}");
            assert_eq!(cache.family(ua.as_bytes()), Family::OutlookMobile);
            let ua = format!("curl/{n}");
            assert_eq!(cache.family(ua.as_bytes()), Family::Script);
        }
    }
}
