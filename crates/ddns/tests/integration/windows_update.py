"""A Windows DNS client's dynamic registration, as Microsoft documents it, against ddns.

Windows ("Register this connection's addresses in DNS", `ipconfig /registerdns`) first asks
for the SOA of its own name to find the zone and its primary, then sends an UPDATE whose
prerequisite is that the name is not in use, adding its A and AAAA records. If the name is in
use (YXDOMAIN), it sends a second UPDATE that replaces its records (delete the RRset, add the
new one). It then tries to register the PTR in the reverse zone. Unsigned, from the LAN.

Usage: windows_update.py SERVER PORT SOURCE NAME IPV4 IPV6
Prints one line per step: `step rcode` (and the zone found by the SOA query).
"""
import sys

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.update
import dns.name
import dns.reversename

server, port, source, host, ipv4, ipv6 = sys.argv[1:7]
port = int(port)
name = dns.name.from_text(host)

# 1. SOA query for the host's own name: the authority section names the zone.
query = dns.message.make_query(name, dns.rdatatype.SOA)
answer = dns.query.udp(query, server, port=port, source=source, timeout=3)
soa = next(iter(answer.authority or answer.answer))
zone = soa.name
print("soa", dns.rcode.to_text(answer.rcode()), zone.to_text())

# 2. Registration with "name is not in use" as the prerequisite.
update = dns.update.UpdateMessage(zone)
update.absent(name)
update.add(name, 1200, "A", ipv4)
update.add(name, 1200, "AAAA", ipv6)
response = dns.query.udp(update, server, port=port, source=source, timeout=3)
print("register", dns.rcode.to_text(response.rcode()))

# 3. When the name was in use: replace its address records.
if response.rcode() == dns.rcode.YXDOMAIN:
    update = dns.update.UpdateMessage(zone)
    update.delete(name, "A")
    update.delete(name, "AAAA")
    update.add(name, 1200, "A", ipv4)
    update.add(name, 1200, "AAAA", ipv6)
    response = dns.query.udp(update, server, port=port, source=source, timeout=3)
    print("replace", dns.rcode.to_text(response.rcode()))

# 4. The PTR in the reverse zone, which this server does not serve.
reverse = dns.reversename.from_address(ipv4)
update = dns.update.UpdateMessage(reverse.parent())
update.delete(reverse, "PTR")
update.add(reverse, 1200, "PTR", host)
response = dns.query.udp(update, server, port=port, source=source, timeout=3)
print("ptr", dns.rcode.to_text(response.rcode()))
