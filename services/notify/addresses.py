"""Where a webhook may be sent: the address rule, checked twice.

| when                      | what is checked                                             |
|---------------------------|-------------------------------------------------------------|
| subscribing (`check_url`) | the URL's form; its host as written, or what it resolves to |
| every try (`destination`) | the same, resolved once; the POST goes to an address checked |

At subscription a name that does not resolve yet is let through; at a try
it is a failure to retry. A try never looks the name up a second time to
connect: what was checked is where the POST goes (DNS rebinding).

The form: http or https, no credentials (`user:pw@`), a host, a port in
range. The addresses refused: loopback, unspecified, link-local, multicast,
private, and whatever else is not globally routable (shared, documentation,
reserved ranges). An IPv6 address that carries an IPv4 one (IPv4-mapped,
IPv4-compatible, NAT64, 6to4) counts as that IPv4 address, and a host that
ends in a number is an IPv4 address in the forms browsers and inet_aton
read (`2130706433`, `0x7f.1`, `017700000001`, `127.1`), never a name.
`allow_loopback` (NOTIFY_WEBHOOK_ALLOW_LOOPBACK) lets loopback addresses
through and nothing else: the project's tests receive on 127.0.0.1."""
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

RULE = "refused by the webhook address rule"
SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NUMBER = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


class Refused(ValueError):
    """The URL or an address of its host breaks the rule; the text names the
    rule and the part, never an address a name resolved to."""

    def __str__(self):
        return "%s: %s" % (RULE, self.args[0])


class Unresolved(OSError):
    """The host name does not resolve (now): try again later."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: `host` as it goes into the Host header and
    TLS SNI (IDNA-encoded), `literal` the address when the host is one."""
    scheme: str
    host: str
    port: int
    path: str
    literal: object = None


def system_resolver(host, port):
    """The platform's resolver (looked up when called: eventlet patches socket)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _ipv4_number(part):
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)               # raises ValueError for 08, 09: not a number
    return int(part)


def ipv4_literal(host):
    """The IPv4 address a host that ends in a number stands for (WHATWG URL's
    IPv4 parser: 1 to 4 parts, each decimal, octal (0…) or hex (0x…), the last
    filling the remaining bytes); None for a name; Refused if it is no address."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not _NUMBER.match(parts[-1]):
        return None
    try:
        if len(parts) > 4 or not all(_NUMBER.match(p) for p in parts):
            raise ValueError(host)
        numbers = [_ipv4_number(p) for p in parts]
        if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
            raise ValueError(host)
    except ValueError:
        raise Refused("the host %s is not a valid IPv4 address" % host) from None
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _embedded_ipv4(address):
    """The IPv4 address an IPv6 one carries, if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def kind_of(address):
    """What kind of address the rule refuses `address` as, or None if public."""
    carried = _embedded_ipv4(address)
    if carried is not None:
        return kind_of(carried)
    for kind, refused in (("a loopback", address.is_loopback),
                          ("an unspecified", address.is_unspecified),
                          ("a link-local", address.is_link_local),
                          ("a multicast", address.is_multicast),
                          ("a private", address.is_private),
                          ("a non-public", not address.is_global)):
        if refused:
            return kind
    return None


def parse(url):
    """Take a webhook URL apart; Refused if its form breaks the rule."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("the URL's host or port is not valid") from None
    if parts.scheme.lower() not in SCHEMES:
        raise Refused("the URL must be http or https")
    if "@" in parts.netloc:
        raise Refused("the URL must not carry credentials (user:password@)")
    if not parts.hostname:
        raise Refused("the URL must name a host")
    if port == 0:
        raise Refused("the port must be 1 to 65535")
    host = parts.hostname
    literal = None
    if ":" in host:                                   # [IPv6]
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            raise Refused("the host [%s] is not a valid IPv6 address" % host) from None
        if literal.scope_id:
            raise Refused("the host [%s] names a network interface" % host)
    else:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Refused("the host %s is not a valid host name" % parts.hostname) from None
        literal = ipv4_literal(host)
    scheme = parts.scheme.lower()
    return Target(scheme=scheme, host=host, port=port or SCHEMES[scheme],
                  path=(parts.path or "/") + ("?" + parts.query if parts.query else ""),
                  literal=literal)


@dataclass(frozen=True)
class Rule:
    allow_loopback: bool = False
    resolve: object = field(default=system_resolver, compare=False)

    def _refusal(self, address):
        kind = kind_of(address)
        if kind == "a loopback" and self.allow_loopback:
            return None
        return kind

    def _check_literal(self, target):
        kind = self._refusal(target.literal)
        if kind:
            raise Refused("%s is %s address" % (target.literal, kind))

    def _resolved(self, target):
        """Every address the host resolves to, each checked; Unresolved if none."""
        try:
            found = self.resolve(target.host, target.port)
        except (OSError, UnicodeError):
            found = []
        addresses = []
        for text in found:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            kind = self._refusal(address)
            if kind:
                raise Refused("the host %s resolves to %s address" % (target.host, kind))
            if str(address) not in addresses:
                addresses.append(str(address))
        if not addresses:
            raise Unresolved("the host %s does not resolve" % target.host)
        return addresses

    def check_url(self, url):
        """At subscription: Refused, or the URL taken apart. A name that does
        not resolve now may later: the check at every try decides then."""
        target = parse(url)
        if target.literal is not None:
            self._check_literal(target)
        else:
            try:
                self._resolved(target)
            except Unresolved:
                pass
        return target

    def destination(self, url):
        """At every try: (target, the checked addresses to connect to)."""
        target = parse(url)
        if target.literal is not None:
            self._check_literal(target)
            return target, [str(target.literal)]
        return target, self._resolved(target)
