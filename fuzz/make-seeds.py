#!/usr/bin/python3
"""Writes the seed corpora under fuzz/corpus/TARGET/seed-*: real messages and files of each
kind the targets read (DNS queries and UPDATEs made by dnspython, TSIG-signed with the fuzz
key at the targets' fixed time; DynDNS2 requests as ddclient and inadyn send them; REST
bodies; the example configs; a zone file). Run again after changing it; the output is
deterministic."""

import base64
import pathlib
import time
from unittest import mock

import dns.message
import dns.rrset
import dns.name
import dns.rdatatype
import dns.tsigkeyring
import dns.update

ROOT = pathlib.Path(__file__).resolve().parent
REPO = ROOT.parent
SIGNED_AT = 1_767_225_600  # fuzz_targets/dns_update.rs NOW
KEY = {"fuzz-key.": "ZnV6ei1rZXktZnV6ei1rZXktZnV6ei1rZXktZnV6ei0="}


def write(target, name, data):
    d = ROOT / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def queries():
    keyring = dns.tsigkeyring.from_text(KEY)
    cases = [
        ("host.dyn.example.", "A", {}),
        ("HoSt.DYN.example.", "AAAA", {"use_edns": 0, "payload": 1232}),
        ("big.dyn.example.", "TXT", {"use_edns": 0, "payload": 4096, "want_dnssec": True}),
        ("alias.dyn.example.", "A", {}),
        ("x.y.wild.dyn.example.", "TXT", {}),
        ("deep.sub.dyn.example.", "A", {}),
        ("mail.dyn.example.", "MX", {}),
        ("srv.dyn.example.", "SRV", {}),
        ("nothere.dyn.example.", "A", {}),
        ("dyn.example.", "ANY", {}),
        ("example.org.", "A", {}),
        ("dyn.example.", "SOA", {"use_edns": 1}),
    ]
    for i, (qname, qtype, kw) in enumerate(cases):
        write("dns_request", f"query-{i:02}", dns.message.make_query(qname, qtype, id=0x1000 + i, **kw).to_wire())
    with mock.patch("time.time", return_value=SIGNED_AT):
        axfr = dns.message.make_query("dyn.example.", "AXFR", id=0x2001)
        write("dns_request", "axfr", axfr.to_wire())
        signed = dns.message.make_query("host.dyn.example.", "A", id=0x2002)
        signed.use_tsig(keyring, keyname="fuzz-key.", algorithm="hmac-sha256")
        write("dns_request", "signed-query", signed.to_wire())
        ixfr = dns.message.make_query("dyn.example.", "IXFR", id=0x2003)
        ixfr.authority.append(dns.rrset.from_text("dyn.example.", 0, "IN", "SOA",
                                                  "ns1.dyn.example. hostmaster.dyn.example. 5 3600 600 1209600 60"))
        write("dns_request", "ixfr", ixfr.to_wire())
        for i, signed in enumerate([True, False]):
            u = dns.update.UpdateMessage("dyn.example.", id=0x3000 + i)
            u.present("host.dyn.example.", "A")
            u.absent("new.dyn.example.")
            u.replace("host.dyn.example.", 60, "A", "192.0.2.7")
            u.add("new.dyn.example.", 60, "AAAA", "2001:db8::7")
            u.add("new.dyn.example.", 60, "TXT", '"hello" "world"')
            u.add("mx.dyn.example.", 60, "MX", "10 host.dyn.example.")
            u.delete("www.dyn.example.")
            u.delete("host.dyn.example.", "TXT")
            if signed:
                u.use_tsig(keyring, keyname="fuzz-key.", algorithm="hmac-sha256")
            wire = u.to_wire()
            write("dns_update", f"update-{i}", wire)
            write("dns_request", f"update-{i}", wire)


def dyndns2():
    basic = "Basic " + base64.b64encode(b"home.dyn.example:ddns_0123456789abcdef.secret").decode()
    cases = [
        ("hostname=home.dyn.example&myip=192.0.2.1", basic, "", "ddclient/3.11.2"),
        ("hostname=home.dyn.example,nas.dyn.example&myip=192.0.2.1,2001:db8::1&myipv6=2001:db8::2",
         basic, "198.51.100.7, 10.0.0.1", "inadyn/2.12.0"),
        ("system=dyndns&hostname=home.dyn.example&myip=no&myipv6=no&offline=YES&wildcard=NOCHG",
         "Bearer ddns_0123456789abcdef.secret", "2001:db8::99", "Fritz!Box"),
        ("myip=%31%39%32.0.2.1", basic, "unknown, 192.0.2.1", ""),
    ]
    for i, parts in enumerate(cases):
        write("dyndns2", f"{i:02}", "\n".join(parts))


def rest():
    cases = [
        ("application/x-www-form-urlencoded", "domain=home.dyn.example&ip=192.0.2.1,2001:db8::1&ttl=60"),
        ("application/json", '{"domain":"home.dyn.example","ipv6":"2001:db8::1","txt":"hi","ttl":120}'),
        ("application/json; charset=utf-8", '{"name":"new.dyn.example"}'),
        ("TXT", '{"ttl":60,"values":["a b","\\"quoted\\""]}'),
        ("MX", '{"values":["10 mail","20 mail.example.net."]}'),
        ("A", '{"label":"router","hosts":["home.dyn.example","*.lab.dyn.example"],"admin":false}'),
    ]
    for i, (head, body) in enumerate(cases):
        write("rest_body", f"{i:02}", f"{head}\n{body}")


def files():
    for name in ["server.toml", "agent.toml"]:
        write("config", name, (REPO / "examples" / name).read_bytes())
    write("config", "minimal", "version = 1\n[dns]\nlisten = [\"127.0.0.1:5300\"]\n")
    write("zone_file", "zone", """$ORIGIN dyn.example.
$TTL 300
@       IN SOA ns1 hostmaster ( 2026120301 3600 600
                1209600 60 )
        NS      ns1
ns1     A       192.0.2.53
host 60 AAAA    2001:db8::1
        TXT     "v=spf1 -all" "second\\"string" \\065
mail    MX      10 mx1.example.net.
_sip._tcp SRV   0 5 5060 host
*.wild  CNAME   host
caa     CAA     0 issue "letsencrypt.org"
sshfp   SSHFP   4 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
unk     TYPE999 \\# 3 010203
""")


if __name__ == "__main__":
    queries()
    dyndns2()
    rest()
    files()
