"""The webhook address rule as plain functions: every form of an internal
address, credentials and schemes refused; public addresses and names let
through; a name judged by every address it resolves to. No network: the
resolver is given."""
import pytest

from services.notify import addresses
from services.notify.addresses import Refused, Rule, Unresolved


def resolver(table):
    def resolve(host, port):
        if host not in table:
            raise OSError("no such name")
        return table[host]
    return resolve


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
    ("http://127.9.9.9:8080/hook", "127.9.9.9 is a loopback address"),
    ("http://[::1]/hook", "::1 is a loopback address"),
    ("http://2130706433/hook", "127.0.0.1 is a loopback address"),
    ("http://0x7f.1/hook", "127.0.0.1 is a loopback address"),
    ("http://017700000001/hook", "127.0.0.1 is a loopback address"),
    ("http://127.1/hook", "127.0.0.1 is a loopback address"),
    ("http://127.0.0.1./hook", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/hook", "::ffff:7f00:1 is a loopback address"),
    ("http://[::ffff:10.0.0.1]/hook", "::ffff:a00:1 is a private address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe is a link-local address"),
    ("http://[2002:7f00:1::]/", "2002:7f00:1:: is a loopback address"),
    ("http://0.0.0.0/hook", "0.0.0.0 is an unspecified address"),
    ("http://0/hook", "0.0.0.0 is an unspecified address"),
    ("http://[::]/hook", ":: is an unspecified address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("http://172.16.5.4/hook", "172.16.5.4 is a private address"),
    ("http://192.168.1.1/hook", "192.168.1.1 is a private address"),
    ("http://[fd00::1]/hook", "fd00::1 is a private address"),
    ("http://224.0.0.251/hook", "224.0.0.251 is a multicast address"),
    ("http://[ff02::1]/hook", "ff02::1 is a multicast address"),
    ("http://100.64.0.1/hook", "100.64.0.1 is a non-public address"),
    ("http://192.0.2.10/hook", "192.0.2.10 is a private address"),
    ("http://user:pw@hooks.example.com/", "the URL must not carry credentials (user:password@)"),
    ("http://token@hooks.example.com/", "the URL must not carry credentials (user:password@)"),
    ("file:///etc/passwd", "the URL must be http or https"),
    ("gopher://hooks.example.com/", "the URL must be http or https"),
    ("http://1.2.3.4.5/", "the host 1.2.3.4.5 is not a valid IPv4 address"),
    ("http://256.1/", "the host 256.1 is not a valid IPv4 address"),
    ("http://hooks.example.com:0/", "the port must be 1 to 65535"),
    ("http://hooks.example.com:70000/", "the URL's host or port is not valid"),
    ("http://[fe80::1%25eth0]/", "the host [fe80::1%25eth0] names a network interface"),
])
def test_internal_addresses_credentials_and_other_schemes_are_refused(url, reason):
    with pytest.raises(Refused) as refused:
        Rule(resolve=resolver({})).check_url(url)
    assert str(refused.value) == "refused by the webhook address rule: " + reason
    with pytest.raises(Refused):                        # and at every try
        Rule(resolve=resolver({})).destination(url)


def test_a_name_is_judged_by_every_address_it_resolves_to():
    rule = Rule(resolve=resolver({"localhost": ["127.0.0.1"],
                                  "mixed.example.com": ["93.184.215.14", "10.1.2.3"],
                                  "hooks.example.com": ["93.184.215.14", "2606:2800:21f::1"]}))
    with pytest.raises(Refused, match="the host localhost resolves to a loopback address$"):
        rule.check_url("http://localhost:8080/hook")
    # one internal address among public ones is enough; the text names none of them
    with pytest.raises(Refused) as refused:
        rule.destination("https://mixed.example.com/hook")
    assert str(refused.value).endswith("the host mixed.example.com resolves to a private address")
    assert "10.1.2.3" not in str(refused.value)
    target, checked = rule.destination("https://Hooks.Example.com/in?x=1#frag")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https", "hooks.example.com", 443, "/in?x=1")
    assert checked == ["93.184.215.14", "2606:2800:21f::1"]


def test_a_name_that_does_not_resolve_is_let_through_at_subscription_and_retried_later():
    rule = Rule(resolve=resolver({}))
    assert rule.check_url("https://not-yet.example.com/hook").host == "not-yet.example.com"
    with pytest.raises(Unresolved, match="does not resolve"):
        rule.destination("https://not-yet.example.com/hook")


def test_public_addresses_pass_and_idn_hosts_are_encoded():
    rule = Rule(resolve=resolver({"xn--fsqu00a.xn--0zwm56d": ["93.184.215.14"]}))
    assert rule.destination("http://8.8.8.8:8080/hook")[1] == ["8.8.8.8"]
    assert rule.destination("http://[2606:4700::1111]/hook")[1] == ["2606:4700::1111"]
    assert rule.destination("http://[::ffff:8.8.8.8]/hook")[1] == ["::ffff:808:808"]
    target, checked = rule.destination("http://例子.测试/hook")
    assert target.host == "xn--fsqu00a.xn--0zwm56d" and checked == ["93.184.215.14"]


def test_allow_loopback_lets_loopback_through_and_nothing_else():
    rule = Rule(allow_loopback=True, resolve=resolver({"localhost": ["127.0.0.1", "::1"]}))
    assert rule.destination("http://localhost:8080/hook")[1] == ["127.0.0.1", "::1"]
    assert rule.destination("http://2130706433/hook")[1] == ["127.0.0.1"]
    for url in ("http://0.0.0.0/", "http://10.0.0.1/", "http://169.254.169.254/",
                "http://user:pw@localhost/", "file:///etc/passwd"):
        with pytest.raises(Refused):
            rule.check_url(url)


@pytest.mark.parametrize("host, address", [
    ("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"),
    ("10.1", "10.0.0.1"), ("192.168.257", "192.168.1.1"), ("0x", "0.0.0.0"),
    ("8.8.8.8", "8.8.8.8"), ("hooks.example.com", None), ("1.example", None),
])
def test_a_host_that_ends_in_a_number_is_an_ipv4_address(host, address):
    found = addresses.ipv4_literal(host)
    assert (None if found is None else str(found)) == address
