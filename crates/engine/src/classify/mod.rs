//! The taxonomy of mail-client noise and the classifier that sorts request paths into it.
//!
//! Categories are data ([`CATEGORIES`]): each is a list of path roots, a root being either a
//! directory (matching itself and everything under it) or one exact file. From the table one
//! regex-automata multi-pattern matcher is compiled once; each worker brings its own
//! [`Scratch`] (regex cache and buffers), so classification never allocates or locks.
//!
//! Matching is case-insensitive on the path nginx routes (`$uri`, see [`normalize`]): query
//! removed, `%XX` decoded once, `//` merged, `.`/`..` resolved; a trailing `/` is ignored.

pub(crate) mod family;
pub(crate) mod mailbox;
mod normalize;

pub(crate) use normalize::needs_normalizing;
pub use normalize::normalize;

use regex_automata::{meta, util::syntax, Anchored, Input};

/// One path root of a category, lower-case, starting with `/`.
#[derive(Clone, Copy, Debug)]
pub struct Root {
    /// The root path.
    pub path: &'static str,
    /// `true`: the root and everything under it; `false`: exactly this path.
    pub dir: bool,
}

const fn dir(path: &'static str) -> Root {
    Root { path, dir: true }
}

const fn file(path: &'static str) -> Root {
    Root { path, dir: false }
}

/// A kind of mail-client noise.
#[derive(Debug)]
pub struct Category {
    /// Stable identifier used in JSON and on the command line.
    pub id: &'static str,
    /// What sends it, for people.
    pub name: &'static str,
    /// The path roots it covers.
    pub roots: &'static [Root],
    /// An Exchange server endpoint, which no mail client needs on a CMS host: a request from
    /// a user agent of no known client is counted as a scan (see [`family::is_scanner`]).
    pub server_endpoint: bool,
}

/// The built-in categories. Adding one is adding an entry here.
pub static CATEGORIES: &[Category] = &[
    Category {
        id: "autodiscover",
        name: "Outlook/Exchange Autodiscover",
        roots: &[
            dir("/autodiscover"),
            file("/autodiscover.xml"),
            file("/autodiscover.json"),
        ],
        server_endpoint: false,
    },
    Category {
        id: "autoconfig",
        name: "Thunderbird autoconfig",
        roots: &[
            dir("/.well-known/autoconfig"),
            file("/mail/config-v1.1.xml"),
        ],
        server_endpoint: false,
    },
    Category {
        id: "activesync",
        name: "Exchange ActiveSync",
        roots: &[dir("/microsoft-server-activesync")],
        server_endpoint: true,
    },
    Category {
        id: "ews",
        name: "Exchange Web Services",
        roots: &[dir("/ews")],
        server_endpoint: true,
    },
    Category {
        id: "owa",
        name: "Outlook on the web",
        roots: &[dir("/owa")],
        server_endpoint: true,
    },
    Category {
        id: "exchange",
        name: "other Exchange endpoints",
        roots: &[
            dir("/rpc"),
            dir("/mapi"),
            dir("/oab"),
            dir("/ecp"),
            dir("/powershell"),
        ],
        server_endpoint: true,
    },
    Category {
        id: "dav",
        name: "CalDAV/CardDAV discovery",
        roots: &[dir("/.well-known/caldav"), dir("/.well-known/carddav")],
        server_endpoint: false,
    },
    Category {
        id: "mta-sts",
        name: "MTA-STS policy",
        roots: &[file("/.well-known/mta-sts.txt")],
        server_endpoint: false,
    },
];

/// Where a normalized path falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Mail-client noise of the category with this index in [`CATEGORIES`].
    Noise(usize),
    /// Not noise, but it starts (case-insensitively, as a plain string prefix) with a noise
    /// root: a block entry could cover it, so the collateral check must know of it.
    NearNoise,
    /// Anything else.
    Other,
}

/// The compiled classifier, built once and shared by all workers.
#[derive(Debug)]
pub struct Classifier {
    regex: meta::Regex,
    /// Lower-case bytes that can follow the leading `/` of any root: a cheap first filter.
    first: [bool; 256],
}

/// Paths of at most this many bytes have their class remembered.
const SEEN_BYTES: usize = 46;
/// Classes remembered per worker (a power of two).
const SEEN: usize = 512;

/// A short path lately classified, and its class.
#[derive(Clone, Copy)]
struct Seen {
    /// Its length (0: an empty slot; a path classified has at least two bytes).
    len: u8,
    path: [u8; SEEN_BYTES],
    class: Class,
}

/// A worker's regex cache, and the classes of the short paths it classified lately: site
/// paths and mail-client probes repeat, and a table lookup costs a fraction of a search.
pub(crate) struct Cache {
    regex: meta::Cache,
    /// Direct-mapped by a hash of the path.
    seen: Box<[Seen]>,
    hasher: foldhash::fast::RandomState,
}

/// Per-worker scratch space for [`Classifier::classify`].
pub struct Scratch {
    pub(crate) cache: Cache,
    /// Holds the normalized path when normalizing changed it.
    pub(crate) normalized: Vec<u8>,
}

fn escape_regex(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let esc = !c.is_ascii_alphanumeric() && c != '/' && c != '-' && c != '_';
            esc.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

impl Classifier {
    /// Compiles the built-in categories: one pattern per category, and a last pattern for
    /// paths that merely start with a root.
    pub fn new() -> Self {
        let mut patterns: Vec<String> = CATEGORIES
            .iter()
            .map(|c| {
                let alts: Vec<String> = c
                    .roots
                    .iter()
                    .map(|r| {
                        let tail = if r.dir { "(?:/.*)?" } else { "" };
                        format!("{}{tail}", escape_regex(r.path))
                    })
                    .collect();
                format!("(?:{})$", alts.join("|"))
            })
            .collect();
        let near: Vec<String> = roots().map(|r| escape_regex(r.path)).collect();
        patterns.push(format!("(?:{})", near.join("|")));
        let mut first = [false; 256];
        for r in roots() {
            first[usize::from(r.path.as_bytes()[1])] = true;
        }
        let regex = meta::Regex::builder()
            .syntax(
                syntax::Config::new()
                    .case_insensitive(true)
                    .unicode(false)
                    .utf8(false)
                    .dot_matches_new_line(true),
            )
            // Searches are anchored and ask for no groups: no prefilter, nor the engines that
            // only serve captures, are built.
            .configure(
                meta::Config::new()
                    .match_kind(regex_automata::MatchKind::LeftmostFirst)
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
                    .auto_prefilter(false)
                    .onepass(false)
                    .backtrack(false),
            )
            .build_many(&patterns)
            .expect("built-in category patterns compile");
        Classifier { regex, first }
    }

    /// Fresh scratch space for one worker.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            cache: Cache {
                regex: self.regex.create_cache(),
                seen: vec![
                    Seen {
                        len: 0,
                        path: [0; SEEN_BYTES],
                        class: Class::Other,
                    };
                    SEEN
                ]
                .into_boxed_slice(),
                hasher: foldhash::fast::RandomState::default(),
            },
            normalized: Vec::with_capacity(256),
        }
    }

    /// Classifies an unescaped request path as sent (query already removed): normalizes it
    /// as nginx does ([`normalize`]), then classifies what nginx would route. Returns the
    /// class and the normalized path, which borrows either `path` or `scratch.normalized`
    /// (`/EWS//Exchange.asmx` is `ews` noise, normalized to `/EWS/Exchange.asmx`). A path
    /// nginx refuses (400: `/..`, `%00`, a broken escape) is [`Class::Other`] with an empty
    /// normalized path.
    #[cfg(any(test, feature = "internals"))]
    pub fn classify<'a>(&self, path: &'a [u8], scratch: &'a mut Scratch) -> (Class, &'a [u8]) {
        let routed: &[u8] = if !needs_normalizing(path) {
            path
        } else if normalize(path, &mut scratch.normalized) {
            &scratch.normalized
        } else {
            return (Class::Other, b"");
        };
        self.classify_routed(routed, &mut scratch.cache)
    }

    /// Classifies a path as nginx routed it (`$uri`, as nginx logs it): it is not normalized
    /// again. For tests that compare noisegate with a real nginx.
    #[cfg(feature = "internals")]
    pub fn classify_uri(&self, uri: &[u8], scratch: &mut Scratch) -> Class {
        self.classify_routed(uri, &mut scratch.cache).0
    }

    /// Classifies a path as nginx routed it (`$uri`, already normalized); returns the class
    /// and the path without its trailing `/`.
    #[inline]
    pub(crate) fn classify_routed<'a>(
        &self,
        routed: &'a [u8],
        cache: &mut Cache,
    ) -> (Class, &'a [u8]) {
        let norm = trim_trailing_slash(routed);
        (self.class_of(norm, cache), norm)
    }

    /// The prefilter, inlined into the caller: most paths are answered by their second byte
    /// without a call.
    #[inline(always)]
    fn class_of(&self, norm: &[u8], cache: &mut Cache) -> Class {
        match norm.get(1) {
            Some(&b) if self.first[usize::from(b.to_ascii_lowercase())] => {
                self.class_of_candidate(norm, cache)
            }
            _ => Class::Other,
        }
    }

    /// [`Classifier::class_of`] for a path the prefilter lets through: the cache, else the regex.
    #[inline(never)]
    fn class_of_candidate(&self, norm: &[u8], cache: &mut Cache) -> Class {
        if norm.len() > SEEN_BYTES {
            return self.search(norm, &mut cache.regex);
        }
        use std::hash::BuildHasher;
        let slot = cache.hasher.hash_one(norm) as usize & (SEEN - 1);
        let seen = &mut cache.seen[slot];
        if usize::from(seen.len) == norm.len() && seen.path[..norm.len()] == *norm {
            return seen.class;
        }
        let class = self.search(norm, &mut cache.regex);
        seen.len = norm.len() as u8;
        seen.path[..norm.len()].copy_from_slice(norm);
        seen.class = class;
        class
    }

    /// The class of a path (normalized, its trailing `/` removed), by the regex.
    fn search(&self, norm: &[u8], cache: &mut meta::Cache) -> Class {
        let input = Input::new(norm).anchored(Anchored::Yes);
        match self.regex.search_with(cache, &input) {
            Some(m) if m.pattern().as_usize() < CATEGORIES.len() => {
                Class::Noise(m.pattern().as_usize())
            }
            Some(_) => Class::NearNoise,
            None => Class::Other,
        }
    }
}

impl Default for Classifier {
    fn default() -> Self {
        Self::new()
    }
}

/// Every root of every category.
pub(crate) fn roots() -> impl Iterator<Item = &'static Root> {
    CATEGORIES.iter().flat_map(|c| c.roots.iter())
}

/// `/a/b/` → `/a/b`; `/` stays.
pub(crate) fn trim_trailing_slash(p: &[u8]) -> &[u8] {
    let mut p = p;
    while p.len() > 1 && p.ends_with(b"/") {
        p = &p[..p.len() - 1];
    }
    p
}

/// The category index for an id.
pub(crate) fn category_index(id: &str) -> Option<usize> {
    CATEGORIES.iter().position(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A path near the roots: a root (or a prefix of one) in random case, then a tail.
    fn near_root_path() -> impl Strategy<Value = Vec<u8>> {
        let roots: Vec<&'static str> = roots().map(|r| r.path).collect();
        (
            prop::sample::select(roots),
            0usize..4,
            any::<u32>(),
            prop::sample::select(vec!["", "/", "/x", ".xml", "-help", "//", "/a/b.svc", "s"]),
        )
            .prop_map(|(root, cut, case, tail)| {
                let root = &root.as_bytes()[..root.len() - cut.min(root.len() - 2)];
                let mut p: Vec<u8> = root
                    .iter()
                    .enumerate()
                    .map(|(i, &b)| {
                        if case >> (i % 32) & 1 == 1 {
                            b.to_ascii_uppercase()
                        } else {
                            b
                        }
                    })
                    .collect();
                p.extend_from_slice(tail.as_bytes());
                p
            })
    }

    proptest! {
        /// A remembered class is the regex's: paths classified twice (the second time from
        /// the table, or after another path took its slot) get what a search gives.
        #[test]
        fn remembered_classes_are_the_regex_classes(
            paths in prop::collection::vec(near_root_path(), 1..300),
        ) {
            let c = Classifier::new();
            let mut cache = c.scratch().cache;
            let mut plain = c.regex.create_cache();
            for p in paths.iter().chain(paths.iter().rev()) {
                let norm = trim_trailing_slash(p);
                let want = match norm.get(1) {
                    Some(&b) if c.first[usize::from(b.to_ascii_lowercase())] => c.search(norm, &mut plain),
                    _ => Class::Other,
                };
                prop_assert_eq!(c.class_of(norm, &mut cache), want);
            }
        }
    }

    #[test]
    fn classify_returns_the_class_and_the_normalized_path() {
        let c = Classifier::new();
        let mut scratch = c.scratch();
        let (class, norm) = c.classify(b"/EWS//Exchange.asmx", &mut scratch);
        assert_eq!(class, Class::Noise(3));
        assert_eq!(CATEGORIES[3].id, "ews");
        assert_eq!(norm, b"/EWS/Exchange.asmx");
    }

    fn class(path: &str) -> Class {
        let c = Classifier::new();
        let mut s = c.scratch();
        c.classify(path.as_bytes(), &mut s).0
    }

    fn noise(id: &str) -> Class {
        Class::Noise(category_index(id).unwrap())
    }

    #[test]
    fn classifies_every_category() {
        let cases = [
            ("/autodiscover/autodiscover.xml", "autodiscover"),
            ("/AutoDiscover/AutoDiscover.xml", "autodiscover"),
            ("/autodiscover", "autodiscover"),
            ("/Autodiscover.xml", "autodiscover"),
            ("/autodiscover.json", "autodiscover"),
            ("/autodiscover/autodiscover.svc", "autodiscover"),
            ("/.well-known/autoconfig/mail/config-v1.1.xml", "autoconfig"),
            ("/mail/config-v1.1.xml", "autoconfig"),
            ("/Microsoft-Server-ActiveSync", "activesync"),
            ("/EWS/Exchange.asmx", "ews"),
            ("/owa/", "owa"),
            ("/rpc/rpcproxy.dll", "exchange"),
            ("/mapi/nspi/", "exchange"),
            ("/ecp", "exchange"),
            ("/PowerShell/", "exchange"),
            ("/oab/x", "exchange"),
            ("/.well-known/caldav", "dav"),
            ("/.well-known/carddav/", "dav"),
            ("/.well-known/mta-sts.txt", "mta-sts"),
        ];
        for (path, id) in cases {
            assert_eq!(class(path), noise(id), "{path}");
        }
    }

    #[test]
    fn normalizes_like_nginx_before_matching() {
        for path in [
            "//autodiscover/autodiscover.xml",
            "/%61utodiscover/autodiscover.xml",
            "/foo/../autodiscover/x",
            "/./autodiscover",
        ] {
            assert_eq!(class(path), noise("autodiscover"), "{path}");
        }
        assert_eq!(class("/ews/../EWS/Exchange.asmx"), noise("ews"));
        // nginx answers 400 to a `..` above the root: it routes nothing.
        assert_eq!(class("/../autodiscover"), Class::Other);
    }

    #[test]
    fn near_misses_are_not_noise() {
        for path in [
            "/autodiscover-help/",
            "/owasp",
            "/ewsletter",
            "/mail/config.xml",
        ] {
            let want = if path == "/mail/config.xml" {
                Class::Other
            } else {
                Class::NearNoise
            };
            assert_eq!(class(path), want, "{path}");
        }
        for path in ["/", "/mail/subscribe", "/wp-login.php", "/autodiscove", ""] {
            assert_eq!(class(path), Class::Other, "{path}");
        }
    }
}
