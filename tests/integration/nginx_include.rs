//! `--nginx-conf` follows `include` as nginx does, through the real binary: globs and nested
//! includes relative to the main file's directory (checked against the real `nginx -t`), a
//! missing file, a loop, a depth limit, and an `nginx -T` dump.

use crate::support::{config, nginx_available, nginx_binary};
use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

const LINE: &str =
    "1.2.3.4 [19/Feb/2016:02:00:00 +0000] \"GET /EWS/Exchange.asmx HTTP/1.1\" 404 0.250\n";
const MAIN: &str =
    r#"log_format main '$remote_addr [$time_local] "$request" $status $request_time';"#;

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// Runs `noisegate --output json ARGS` in `cwd` on [`LINE`]: exit code, JSON, stderr.
fn run(cwd: &Path, args: &[&str], stdin: &str) -> (i32, Value, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .current_dir(cwd)
        .args(["--output", "json"])
        .args(args)
        .write_stdin(stdin.to_string())
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v, err)
}

fn ews_requests(v: &Value) -> u64 {
    v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ews")
        .map_or(0, |c| c["requests"].as_u64().unwrap())
}

/// The usual layout: nginx.conf includes `conf.d/*.conf` and `mime.types`; the log_format
/// is in conf.d/logging.conf, which includes `snippets/*.conf` — found next to nginx.conf,
/// not next to logging.conf, as nginx finds it.
fn layout(dir: &Path) {
    let etc = dir.join("etc");
    let d = dir.display();
    let http = format!(
        "    include mime.types;\n    include conf.d/*.conf;\n    server {{\n        listen 127.0.0.1:{};\n        access_log \"{d}/access.log\" main;\n    }}\n",
        crate::support::free_port()
    );
    write(&etc, "nginx.conf", &config(dir, &http));
    write(&etc, "mime.types", "types {\n    text/plain txt log;\n}\n");
    write(
        &etc,
        "conf.d/logging.conf",
        &format!("# formats\n{MAIN}\ninclude snippets/*.conf;\n"),
    );
    write(
        &etc,
        "snippets/json.conf",
        "log_format js escape=json '{\"t\":\"$time_iso8601\",\"r\":\"$request\",\"s\":\"$status\"}';\n",
    );
    // Not the glob's: a hidden file and another extension.
    write(
        &etc,
        "conf.d/.old.conf",
        "log_format main 'broken $status';\n",
    );
    write(&etc, "conf.d/notes.txt", "not nginx syntax {\n");
    fs::create_dir_all(dir.join("elsewhere")).unwrap();
}

#[test]
fn includes_are_followed_relative_to_the_main_file() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    let conf = dir.path().join("etc/nginx.conf");
    let conf = conf.to_str().unwrap();
    let elsewhere = dir.path().join("elsewhere");

    let (code, v, err) = run(&elsewhere, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "main");
    assert_eq!(ews_requests(&v), 1);

    // A relative --nginx-conf: includes are relative to its directory, not the working one.
    let (code, v, err) = run(dir.path(), &["--nginx-conf", "etc/nginx.conf"], LINE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "main");

    // The nested include's format.
    let js = r#"{"t":"2016-02-19T02:00:00+00:00","r":"GET /EWS/x HTTP/1.1","s":"404"}"#;
    let (code, v, err) = run(
        &elsewhere,
        &["--nginx-conf", conf, "--log-format-name", "js"],
        js,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(ews_requests(&v), 1);

    // The same tree is one nginx accepts, run from another directory with another prefix:
    // the includes resolve against nginx.conf's directory there too.
    if nginx_available() {
        let out = std::process::Command::new(nginx_binary().unwrap())
            .current_dir(&elsewhere)
            .arg("-p")
            .arg(&elsewhere)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-t", "-c", conf])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // And nginx does not look next to the including file: moved there, it fails.
        fs::rename(
            dir.path().join("etc/snippets"),
            dir.path().join("etc/conf.d/snippets"),
        )
        .unwrap();
        write(
            &dir.path().join("etc"),
            "conf.d/logging.conf",
            &format!("{MAIN}\ninclude snippets/json.conf;\n"),
        );
        let out = std::process::Command::new(nginx_binary().unwrap())
            .current_dir(&elsewhere)
            .arg("-p")
            .arg(&elsewhere)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-t", "-c", conf])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let (code, _, err) = run(&elsewhere, &["--nginx-conf", conf], LINE);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("etc/snippets/json.conf: No such file"),
            "{err}"
        );
    }
}

#[test]
fn a_missing_include_is_an_error_and_an_empty_glob_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "nginx.conf",
        &format!("http {{\n    {MAIN}\n    include none/*.conf;\n    access_log x.log main;\n}}\n"),
    );
    let conf = d.join("nginx.conf");
    let conf = conf.to_str().unwrap();
    let (code, v, err) = run(d, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "main");

    write(
        d,
        "nginx.conf",
        &format!("{MAIN}\ninclude\n  gone.conf;\naccess_log x main;\n"),
    );
    let (code, _, err) = run(d, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 2, "{err}");
    let missing = d.join("gone.conf");
    assert!(
        err.contains(&format!("{}: No such file", missing.display())),
        "{err}"
    );
    assert!(err.contains("included at"), "{err}");
    assert!(err.contains(":2)"), "{err}");
    assert!(err.contains("nginx -T > all.conf"), "{err}");

    // A broken file a glob matched: its line, and where the glob was.
    write(d, "nginx.conf", "http {\n    include conf.d/*.conf;\n}\n");
    write(d, "conf.d/bad.conf", "log_format main '$status;\n");
    let (code, _, err) = run(d, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 2, "{err}");
    let bad = d.join("conf.d/bad.conf");
    assert!(
        err.contains(&format!(
            "{}: line 1: unterminated '-quoted string (included at {conf}:2)",
            bad.display()
        )),
        "{err}"
    );
}

#[test]
fn an_include_loop_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The glob in nginx.conf matches nginx.conf itself.
    write(d, "nginx.conf", &format!("{MAIN}\ninclude *.conf;\n"));
    let conf = d.join("nginx.conf");
    let conf = conf.to_str().unwrap();
    let (code, _, err) = run(d, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("include loop"), "{err}");

    write(d, "nginx.conf", "include a/a.conf;\n");
    write(d, "a/a.conf", "include b/b.conf;\n");
    write(d, "b/b.conf", "include a/*.conf;\n");
    let (code, _, err) = run(d, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("include loop: a/a.conf -> b/b.conf -> a/a.conf")
            || err.contains(&format!(
                "include loop: {0}/a/a.conf -> {0}/b/b.conf -> {0}/a/a.conf",
                d.display()
            )),
        "{err}"
    );

    // The same file twice, not inside itself, is no loop.
    write(
        d,
        "nginx.conf",
        "include f.conf;\ninclude f.conf;\naccess_log x main;\n",
    );
    write(d, "f.conf", &format!("{MAIN}\n"));
    let (code, _, err) = run(d, &["--nginx-conf", conf], LINE);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn glob_matches_are_read_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "nginx.conf", &format!("{MAIN}\ninclude sites/*;\n"));
    // Written out of order; the first access_log is the one in the first name (byte order,
    // as glob(3) sorts: a10 before a2).
    for name in ["m", "z", "b", "a2", "a10", "y"] {
        write(
            d,
            &format!("sites/{name}"),
            &format!(
                "access_log /var/log/{name}.log f{name};\nlog_format f{name} '[$time_local] $status {name}';\n"
            ),
        );
    }
    let conf = d.join("nginx.conf");
    let (code, v, err) = run(
        d,
        &["--nginx-conf", conf.to_str().unwrap()],
        "[19/Feb/2016:02:00:00 +0000] 404 a10\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "fa10");
}

#[test]
fn includes_nest_at_most_16_deep() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "nginx.conf", "include f1.conf;\naccess_log x main;\n");
    for i in 1..40 {
        write(
            d,
            &format!("f{i}.conf"),
            &format!("include f{}.conf;\n", i + 1),
        );
    }
    write(d, "f40.conf", &format!("{MAIN}\n"));
    let conf = d.join("nginx.conf");
    let (code, _, err) = run(d, &["--nginx-conf", conf.to_str().unwrap()], LINE);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("includes nested more than 16 deep"), "{err}");
}

#[test]
fn a_format_in_no_file_read_suggests_nginx_dump() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "nginx.conf",
        "http {\n    include conf.d/*.conf;\n    access_log x main;\n}\n",
    );
    write(d, "conf.d/site.conf", "server { listen 80; }\n");
    let conf = d.join("nginx.conf");
    let (code, _, err) = run(d, &["--nginx-conf", conf.to_str().unwrap()], LINE);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no log_format named 'main'"), "{err}");
    assert!(
        err.contains("the 2 files read define no log_format"),
        "{err}"
    );
    assert!(err.contains("`nginx -T > all.conf`"), "{err}");
}

#[test]
fn an_nginx_dump_is_read_without_following_its_includes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // As `nginx -T` prints it: every file after a header, the includes still there.
    let dump = format!(
        "# configuration file /etc/nginx/nginx.conf:\nhttp {{\n    include /etc/nginx-absent/mime.types;\n    include conf.d/*.conf;\n    access_log /var/log/nginx/access.log main;\n}}\n\n# configuration file /etc/nginx-absent/mime.types:\ntypes {{ text/plain txt; }}\n\n# configuration file /etc/nginx/conf.d/logging.conf:\n{MAIN}\n"
    );
    write(d, "all.conf", &dump);
    let conf = d.join("all.conf");
    let (code, v, err) = run(d, &["--nginx-conf", conf.to_str().unwrap()], LINE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "main");
    assert_eq!(ews_requests(&v), 1);

    // `nginx -T > all.conf 2>&1`: nginx's messages first.
    let messages = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n";
    write(d, "all.conf", &format!("{messages}{dump}"));
    let (code, v, err) = run(d, &["--nginx-conf", conf.to_str().unwrap()], LINE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "main");
}
