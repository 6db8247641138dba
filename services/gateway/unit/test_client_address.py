"""Which address a login is counted against: the connection's peer, and
X-Forwarded-For only as far as the proxies that wrote it are trusted."""
import ipaddress

from services.gateway.http_json import client_address

PROXY = (ipaddress.ip_network("10.0.0.5/32"), ipaddress.ip_network("fd00::/8"))


def test_without_a_trusted_proxy_the_header_is_not_believed():
    assert client_address("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"
    assert client_address("10.0.0.5", "198.51.100.1", ()) == "10.0.0.5"


def test_a_trusted_proxy_names_the_client_and_what_the_client_wrote_is_ignored():
    assert client_address("10.0.0.5", "198.51.100.1", PROXY) == "198.51.100.1"
    # the client itself sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real peer
    assert client_address("10.0.0.5", "1.2.3.4, 198.51.100.1", PROXY) == "198.51.100.1"
    # two trusted proxies in a row
    assert client_address("fd00::1", "198.51.100.1, 10.0.0.5", PROXY) == "198.51.100.1"


def test_an_untrusted_peer_or_a_garbled_header_counts_as_the_peer():
    assert client_address("203.0.113.7", "10.0.0.5", PROXY) == "203.0.113.7"
    assert client_address("10.0.0.5", "not an address", PROXY) == "10.0.0.5"
    assert client_address("10.0.0.5", "", PROXY) == "10.0.0.5"
    assert client_address(None, "198.51.100.1", PROXY) is None
