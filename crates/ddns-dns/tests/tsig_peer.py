"""An independent TSIG peer for crates/ddns-dns/tests/tsig.rs, built on dnspython.

Usage: tsig_peer.py ALGORITHM KEYNAME SECRET COMMAND ARGS...
Messages and MACs go in and out as hex. A verification failure prints the dnspython exception
class name on stdout and exits with status 1.

Commands:
  sign-query                    -> "QUERY_HEX MAC_HEX" (a query for www.example./A)
  verify-query WIRE             -> "ok"  (a request signed by the other side)
  respond WIRE                  -> "RESPONSE_HEX"  (verifies the request, signs a response)
  verify-response MAC WIRE      -> "ok"
  verify-stream MAC WIRE...     -> "ok N"  (multi-message TSIG, RFC 8945 section 5.3.1)
  sign-stream WIRE N [MIDDLE]   -> N lines of hex; message MIDDLE (0-based) left unsigned
"""

import sys

import dns.exception
import dns.message
import dns.name
import dns.rrset
import dns.tsig


def main():
    algorithm, keyname, secret, command, *args = sys.argv[1:]
    name = dns.name.from_text(keyname)
    key = dns.tsig.Key(name, secret, algorithm)
    keyring = {name: key}
    try:
        if command == "sign-query":
            query = dns.message.make_query("www.example.", "A")
            query.use_tsig(keyring, keyname=name)
            wire = query.to_wire()
            print(wire.hex(), query.mac.hex())
        elif command == "verify-query":
            dns.message.from_wire(bytes.fromhex(args[0]), keyring=keyring)
            print("ok")
        elif command == "respond":
            query = dns.message.from_wire(bytes.fromhex(args[0]), keyring=keyring)
            response = dns.message.make_response(query)
            response.answer.append(
                dns.rrset.from_text("www.example.", 300, "IN", "A", "192.0.2.1")
            )
            print(response.to_wire().hex())
        elif command == "verify-response":
            dns.message.from_wire(
                bytes.fromhex(args[1]), keyring=keyring, request_mac=bytes.fromhex(args[0])
            )
            print("ok")
        elif command == "verify-stream":
            request_mac = bytes.fromhex(args[0])
            ctx = None
            for wire in args[1:]:
                message = dns.message.from_wire(
                    bytes.fromhex(wire),
                    keyring=keyring,
                    request_mac=request_mac,
                    tsig_ctx=ctx,
                    multi=True,
                )
                ctx = message.tsig_ctx
            if not message.had_tsig:
                raise dns.tsig.BadSignature("the last message is not signed")
            print("ok", len(args) - 1)
        elif command == "sign-stream":
            query = dns.message.from_wire(bytes.fromhex(args[0]), keyring=keyring)
            count = int(args[1])
            middle = int(args[2]) if len(args) > 2 else -1
            ctx = None
            for index in range(count):
                response = dns.message.make_response(query)
                response.answer.append(
                    dns.rrset.from_text(
                        "www.example.", 300, "IN", "A", "192.0.2.%d" % (index + 1)
                    )
                )
                if index == middle:
                    response.tsig = None
                    wire = response.to_wire()
                    # RFC 8945 section 5.3.1: unsigned messages enter the next digest whole.
                    ctx.update(wire)
                else:
                    wire = response.to_wire(multi=True, tsig_ctx=ctx)
                    ctx = response.tsig_ctx
                print(wire.hex())
        else:
            raise SystemExit("unknown command " + command)
    except dns.exception.DNSException as error:
        print(type(error).__name__)
        sys.exit(1)


main()
