#!/usr/bin/env bash
# A corpus that a real nginx wrote: starts nginx on 127.0.0.1 with Pantheon's log_format,
# sends it REQUESTS requests over keep-alive connections (a quarter of them mail-client probes
# from a few hundred clients, in the spellings Outlook, Thunderbird, ActiveSync and EWS send;
# the rest pages, assets and admin calls of a WordPress site from a few thousand), stops it,
# and repeats the log nginx wrote until it reaches SIZE bytes (whole copies of it, each ten
# minutes later than the one before).
#
#   benches/nginx-corpus.sh OUT [SIZE] [REQUESTS]     # defaults: 1G, 40000
#
# Needs nginx (apt-get install nginx) and python3. benches/compare.sh calls it for its fourth
# corpus when both are there.
set -euo pipefail
out=$1
size=${2:-1G}
requests=${3:-40000}
bytes=$(numfmt --from=iec "$size")
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx-corpus: no nginx (apt-get install nginx)" >&2; exit 2; }

dir=$(mktemp -d)
trap '[ -s "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/tmp"
cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    log_format pantheon '\$remote_addr - \$remote_user [\$time_local]  "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_time "\$http_x_forwarded_for"';
    access_log $dir/access.log pantheon;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "a page of the site\n"; }
        location /wp-content/ { return 200 "an asset, a few bytes long\n"; }
        location = /wp-login.php { return 302 /wp-admin/; }
        location ~* autodiscover|autoconfig|activesync|/ews/|/owa|mta-sts|config-v1 { return 404; }
        location = /old-page/ { return 301 /new-page/; }
    }
}
EOF
"$nginx" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
python3 - "$port" "$requests" <<'EOF'
import http.client, random, sys

port, total = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(7)
outlook = [
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.17928; Pro)",
    "Microsoft Office/15.0 (Windows NT 6.1; Microsoft Outlook 15.0.5553; Pro)",
    "Outlook-iOS/723.4027091.prod.iphone (4.2351.0)",
    "Microsoft.Exchange.Autodiscover",
]
thunderbird = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.16.0"]
phones = ["Apple-iPhone14C2/2104.90", "Android-Mail/2024.08.04.661893540.Release"]
browsers = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.105 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
probes = [
    ("POST", "/autodiscover/autodiscover.xml", outlook),
    ("POST", "/Autodiscover/Autodiscover.xml", outlook),
    ("GET", "/AutoDiscover/AutoDiscover.xml", outlook),
    ("GET", "/autodiscover/autodiscover.json?Email=info%40example.org&Protocol=ActiveSync", outlook),
    ("GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=info%40example.org", thunderbird),
    ("GET", "/mail/config-v1.1.xml?emailaddress=sales%40example.org", thunderbird),
    ("OPTIONS", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=info&DeviceId=A1&DeviceType=iPhone", phones),
    ("POST", "/EWS/Exchange.asmx", outlook),
    ("GET", "/owa/", browsers),
    ("GET", "/.well-known/mta-sts.txt", ["mta-sts-checker/1.0"]),
]
pages = ["/", "/blog/", "/about-us/", "/contact/", "/shop/?orderby=price", "/old-page/",
         "/wp-login.php", "/feed/", "/blog/2024/10/spring-newsletter/"]
assets = ["/wp-content/uploads/2019/12/spring-newsletter-1024x683.png",
          "/wp-content/themes/site/style.css?ver=6.4.2", "/wp-content/plugins/forms/app.js?ver=2.1"]
def ip():
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
noisy_clients = [ip() for _ in range(300)]
people = [ip() for _ in range(3000)]
conns = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(4)]
for n in range(total):
    c = conns[n % len(conns)]
    if rng.random() < 0.24:
        method, path, agents = rng.choice(probes)
        ua, client, referer = rng.choice(agents), rng.choice(noisy_clients), None
    else:
        method = "POST" if rng.random() < 0.03 else "GET"
        path = rng.choice(assets if rng.random() < 0.5 else pages)
        ua, client = rng.choice(browsers), rng.choice(people)
        referer = "https://www.example.org/" if rng.random() < 0.6 else None
    headers = {"User-Agent": ua, "X-Forwarded-For": client, "Host": "www.example.org"}
    if referer:
        headers["Referer"] = referer
    body = b"<Autodiscover/>" if method == "POST" else None
    c.request(method, path, body=body, headers=headers)
    c.getresponse().read()
for c in conns:
    c.close()
EOF
kill -QUIT "$(cat "$dir/nginx.pid")"
for _ in $(seq 50); do [ -e "$dir/nginx.pid" ] || break; sleep 0.1; done
one=$(stat -c %s "$dir/access.log")
copies=$(( (bytes + one - 1) / one ))
# Each copy ten minutes after the one before (its $time_local moved, the rest as nginx wrote
# it), so that the log spans hours as a real one does, not the few seconds it took to write.
python3 - "$dir/access.log" "$copies" "$out" <<'PY'
import datetime, sys
src, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(src, "rb").read().splitlines(keepends=True)
fmt = "%d/%b/%Y:%H:%M:%S %z"
parsed = []
for line in lines:
    a = line.index(b"[") + 1
    b = line.index(b"]", a)
    parsed.append((line[:a], datetime.datetime.strptime(line[a:b].decode(), fmt), line[b:]))
with open(out, "wb") as f:
    for k in range(copies):
        shift = datetime.timedelta(minutes=10 * k)
        f.write(b"".join(head + (t + shift).strftime(fmt).encode() + tail for head, t, tail in parsed))
PY
echo "nginx-corpus: $(wc -l < "$dir/access.log") lines nginx wrote, $copies copies, $(stat -c %s "$out") bytes in $out"
