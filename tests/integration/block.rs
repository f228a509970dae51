//! `noisegate block` through the real binary: targets, `--plain`, `--upstream`, merging into
//! an existing pantheon.yml (in place, idempotent, refusing bad files, `--dry-run`), and
//! hostile paths that must never reach a config file.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn line(req: &str, status: u16) -> String {
    format!("10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  \"{req}\" {status} 10 \"-\" \"ua\" 0.400 \"198.51.100.7\"\n")
}

fn log() -> String {
    let mut s = String::new();
    for (req, n) in [
        ("POST /Autodiscover/Autodiscover.xml HTTP/1.1", 5),
        ("POST /autodiscover/autodiscover.xml HTTP/1.1", 3),
        ("GET /owa/ HTTP/1.1", 2),
        ("GET /.well-known/mta-sts.txt HTTP/1.1", 1),
    ] {
        s += &line(req, 404).repeat(n);
    }
    s += &line("GET /mail/subscribe HTTP/1.1", 200);
    s
}

fn block(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("block")
        .args(args)
        .write_stdin(stdin.to_string())
        .output()
        .unwrap();
    crate::support::code_out_err(out)
}

#[test]
fn every_target_blocks_the_same_paths() {
    let (_, yml, _) = block(&["--plain"], &log());
    assert_eq!(
        yml,
        "api_version: 1\nprotected_web_paths:\n  - /Autodiscover\n  - /autodiscover\n  - /owa\n  - /.well-known/mta-sts.txt\n"
    );
    // nginx and Apache block every casing of a category whose roots cover no served page.
    let (_, nginx, _) = block(&["--target", "nginx"], &log());
    for (comment, rule) in [
        ("# 8 requests (autodiscover), in any casing", "autodiscover"),
        ("# 2 requests (owa), in any casing", "owa"),
        (
            "# 1 request (mta-sts), in any casing",
            "\\.well-known/mta-sts\\.txt",
        ),
    ] {
        assert!(
            nginx.contains(&format!(
                "{comment}\nlocation ~* \"^/(?:{rule})(?:/|$)\" {{ return 403; }}\n"
            )),
            "{nginx}"
        );
    }
    assert!(!nginx.contains("location ="), "{nginx}");
    let (_, apache, _) = block(&["--target", "apache", "--plain"], &log());
    assert!(
        apache.contains("RewriteRule ^(?:autodiscover)(/.*)?$ - [NC,F,L]\n"),
        "{apache}"
    );
    assert!(apache.contains("RewriteRule ^(?:\\.well-known/mta-sts\\.txt)(/.*)?$ - [NC,F,L]\n"));
    assert!(
        !apache.contains("# 8 requests"),
        "--plain leaves out the counts"
    );
    // A page served under /Autodiscover: that root keeps Pantheon's exact, case-sensitive
    // entries, the other categories their rules.
    let served = log() + &line("GET /Autodiscover/help HTTP/1.1", 200);
    let (_, apache, _) = block(&["--target", "apache", "--plain"], &served);
    for want in [
        "RewriteRule ^Autodiscover/Autodiscover\\.xml(/.*)?$ - [F,L]\n",
        "RewriteRule ^autodiscover(/.*)?$ - [F,L]\n",
        "RewriteRule ^(?:owa)(/.*)?$ - [NC,F,L]\n",
    ] {
        assert!(apache.contains(want), "{want}\n{apache}");
    }
    assert!(!apache.contains("^(?:autodiscover"), "{apache}");
    let (_, nginx, _) = block(&["--target", "nginx", "--plain"], &served);
    assert!(nginx.contains("location = /Autodiscover/Autodiscover.xml { return 403; }\n"));
    assert!(nginx.contains("location ^~ /autodiscover/ { return 403; }\n"));
    assert!(!nginx.contains("(?:autodiscover"), "{nginx}");
    assert!(apache.contains("above `# BEGIN WordPress`"), "{apache}");

    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--output", "json"])
        .write_stdin(log())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, nginx_commented, _) = block(&["--target", "nginx"], &log());
    assert_eq!(v["block"]["nginx"], nginx_commented);
    assert!(v["block"]["apache"]
        .as_str()
        .unwrap()
        .contains("RewriteEngine On"));
}

#[test]
fn the_upstream_defaults_share_the_limit() {
    let mut many = String::new();
    for i in 0..30 {
        many += &line(&format!("GET /owa-{i:02}/../owa/x{i:02} HTTP/1.1"), 404).repeat(30 - i);
        many += &line(&format!("GET /owa-page-{i:02} HTTP/1.1"), 200);
    }
    // /owa is narrowed (the site serves /owa-page-NN), so every path is its own entry.
    let (_, none, _) = block(&["--plain"], &many);
    assert_eq!(none.matches("\n  - ").count(), 24, "{none}");
    let (_, wp, _) = block(&["--upstream", "wordpress"], &many);
    assert_eq!(wp.matches("\n  - ").count(), 21, "{wp}");
    assert!(wp.contains(
        "# the upstream also protects /private/, /wp-content/uploads/private/, /xmlrpc.php"
    ));
}

fn write(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("pantheon.yml");
    std::fs::write(&p, text).unwrap();
    p
}

const EXISTING: &str = "# Pantheon settings\napi_version: 1\nphp_version: 8.2 # keep\n\nprotected_web_paths:\n  - /private/\n  - /Autodiscover # already there\n\nworkflows: {}\n";

#[test]
fn merge_adds_only_what_is_missing_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), EXISTING);
    let f = file.to_str().unwrap();
    let (code, out, err) = block(&["--merge", f, "--dry-run"], &log());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("--- {f}\n+++ {f} (noisegate)\n@@ ")),
        "{out}"
    );
    assert!(out.contains("+  - /autodiscover\n"), "{out}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        EXISTING,
        "a dry run writes nothing"
    );

    let (code, out, err) = block(&["--merge", f], &log());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("added 3 entries (/autodiscover, /owa, /.well-known/mta-sts.txt)"),
        "{out}"
    );
    let merged = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pantheon.yml.bak")).unwrap(),
        EXISTING
    );
    for keep in [
        "# Pantheon settings",
        "php_version: 8.2 # keep",
        "  - /Autodiscover # already there",
        "workflows: {}",
    ] {
        assert!(merged.contains(keep), "{keep} lost:\n{merged}");
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(&merged).unwrap();
    let list: Vec<&str> = docs[0]["protected_web_paths"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        list,
        [
            "/private/",
            "/Autodiscover",
            "/autodiscover",
            "/owa",
            "/.well-known/mta-sts.txt"
        ]
    );

    let (code, out, _) = block(&["--merge", f], &log());
    assert_eq!(code, 0);
    assert!(
        out.contains("nothing added: every path is already protected"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        merged,
        "a second run changes nothing"
    );
}

#[test]
fn entries_that_name_no_path_do_not_count_as_protection() {
    // Found by the yaml_merge fuzzer: an empty entry (or a YAML tag with no value, which reads
    // as one) made every path look protected, so nothing was added.
    for entry in ["\"\"", "!/autodiscover/.well-kno", "/", "autodiscover"] {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            &format!("api_version: 1\nprotected_web_paths:\n  - {entry}\n"),
        );
        let (code, out, err) = block(&["--merge", file.to_str().unwrap()], &log());
        assert_eq!(code, 0, "{entry}: {err}");
        assert!(
            out.contains("added 3 entries") || out.contains("added 4 entries"),
            "{entry}: {out}"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("  - /autodiscover\n"), "{entry}: {text}");
    }
}

#[test]
fn merge_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "api_version: 2\n",
            "api_version is 2; noisegate writes for api_version 1",
        ),
        ("api_version: \"1\"\n", "api_version is \"1\""),
        ("protected_web_paths: [\n", "not valid YAML"),
        ("protected_web_paths: 3\n", "not a list"),
    ] {
        let file = write(dir.path(), text);
        let (code, out, err) = block(&["--merge", file.to_str().unwrap()], &log());
        assert_eq!(code, 2, "{text}");
        assert!(err.contains(want), "{text}: {err}");
        assert!(out.is_empty());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "untouched");
    }
    let (code, _, err) = block(&["--merge", "/nonexistent/pantheon.yml"], &log());
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/pantheon.yml"), "{err}");
}

#[test]
fn hostile_paths_never_reach_a_config_file() {
    let hostile = [
        "/autodiscover/a%0Ab",
        "/autodiscover/a\\x22b",
        "/autodiscover/a%23b",
        "/autodiscover/a:b",
        "/autodiscover/a{b}",
        "/autodiscover/a*b",
        "/autodiscover/a%01b",
        "/autodiscover/caf%C3%A9",
        "/autodiscover/a..b",
        "/autodiscover/a$b;",
        "/autodiscover/a%20b",
    ];
    let mut log = line("GET /autodiscover-help HTTP/1.1", 200);
    for p in hostile {
        log += &line(&format!("GET {p} HTTP/1.1"), 404);
    }
    log += &line("GET /autodiscover/fine.xml HTTP/1.1", 404);
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--output", "json"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["block"]["paths"],
        serde_json::json!(["/autodiscover/fine.xml"])
    );
    assert_eq!(
        v["block"]["dropped"].as_array().unwrap().len(),
        hostile.len(),
        "{}",
        v["block"]["dropped"]
    );
    for d in v["block"]["dropped"].as_array().unwrap() {
        assert!(d["reason"].as_str().unwrap().contains("unsafe"), "{d}");
    }
    for target in ["pantheon", "nginx", "apache"] {
        let (_, text, _) = block(&["--target", target], &log);
        for bad in [
            "a\"b", "a#b", "a:b", "a{b}", "a*b", "a\u{1}b", "caf", "a..b", "a$b", "a b",
        ] {
            assert!(!text.contains(bad), "{target} emitted {bad:?}:\n{text}");
        }
        assert!(
            text.contains("fine") || text.contains("(?:autodiscover"),
            "{text}"
        );
    }
}

#[test]
fn merge_writes_through_symlinks_and_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = write(dir.path(), EXISTING);
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link.yml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (code, _, err) = block(&["--merge", link.to_str().unwrap()], &log());
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let merged = std::fs::read_to_string(&real).unwrap();
    assert!(merged.contains("  - /owa\n"), "{merged}");
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}
