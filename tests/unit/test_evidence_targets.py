"""Which image URLs the evidence copy may fetch: addresses, IPv6 forms carrying IPv4, resolving.

Pure checks with literal addresses and an injected resolver; fetching from servers is tested
in tests/integration/test_evidence.py.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkingdone.sessions import evidence

METADATA = ipaddress.IPv4Address("169.254.169.254")


@pytest.fixture(autouse=True)
def _production(monkeypatch):
    # Outside the emulators: loopback is as forbidden as any other internal address.
    for name in ("FUNCTIONS_EMULATOR", "FIRESTORE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)


def embeddings(ipv4: ipaddress.IPv4Address) -> dict[str, ipaddress.IPv6Address]:
    """Every IPv6 form of `ipv4` that delivers to it."""
    v4 = int(ipv4)
    return {
        "ipv4-mapped": ipaddress.IPv6Address(f"::ffff:{ipv4}"),
        "ipv4-compatible": ipaddress.IPv6Address(v4),
        "siit": ipaddress.IPv6Address(f"::ffff:0:{ipv4}"),
        "nat64": ipaddress.IPv6Address(f"64:ff9b::{ipv4}"),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (v4 << 80) | 1),
        "teredo-server": ipaddress.IPv6Address((0x20010000 << 96) | (v4 << 64)),
        "teredo-client": ipaddress.IPv6Address(
            (0x20010000 << 96)
            | (int(ipaddress.IPv4Address("192.0.2.45")) << 64)
            | (v4 ^ 0xFFFFFFFF)
        ),
    }


@pytest.mark.parametrize(
    "url",
    [
        # the forms of the metadata server's address that passed the check before
        "http://[64:ff9b::a9fe:a9fe]/x.png",  # NAT64
        "http://[2002:a9fe:a9fe::1]/x.png",  # 6to4
        "http://[::a9fe:a9fe]/x.png",  # IPv4-compatible
        "http://[::ffff:0:a9fe:a9fe]/x.png",  # SIIT
        "http://[64:ff9b:1::a9fe:a9fe]/x.png",  # local-use NAT64
        # and forms that were already refused
        "http://[::ffff:169.254.169.254]/x.png",
        "http://[2001:0:4136:e378:8000:63bf:5601:5601]/x.png",  # Teredo, client 169.254.169.254
        "http://169.254.169.254/x.png",
        "http://127.0.0.1/x.png",
        "http://[::1]/x.png",
        "http://10.0.0.7/x.png",
        "http://100.64.0.1/x.png",
        "http://[fd00::1]/x.png",
        "http://[fe80::1]/x.png",
        "http://0.0.0.0/x.png",
    ],
)
def test_internal_addresses_in_any_form_are_blocked(url):
    with pytest.raises(evidence.EvidenceError) as err:
        evidence.check_target(url)
    assert err.value.code == "blocked_address"
    assert err.value.retryable is False


@given(st.sampled_from(list(embeddings(METADATA))))
def test_each_embedding_of_the_metadata_address_is_decoded(form):
    address = embeddings(METADATA)[form]
    assert METADATA in evidence.embedded_ipv4(address)
    assert not evidence.address_allowed(address)


@given(st.ip_addresses(v=4).filter(lambda a: not a.is_global or a.is_multicast))
def test_no_embedding_of_an_internal_ipv4_address_is_allowed(ipv4):
    assert not evidence.address_allowed(ipv4)
    for form, address in embeddings(ipv4).items():
        assert not evidence.address_allowed(address), form


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2a00:1450:4001:80b::2004", "64:ff9b::808:808", "::ffff:8.8.8.8"]
)
def test_public_addresses_and_their_translations_are_allowed(address):
    assert evidence.address_allowed(ipaddress.ip_address(address))


def test_loopback_only_under_the_emulators(monkeypatch):
    assert not evidence.address_allowed(ipaddress.ip_address("127.0.0.1"))
    monkeypatch.setenv("FUNCTIONS_EMULATOR", "true")
    assert evidence.address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert evidence.address_allowed(ipaddress.ip_address("::1"))
    # A translation that delivers to loopback somewhere else is no local stand-in.
    assert not evidence.address_allowed(ipaddress.ip_address("64:ff9b::7f00:1"))
    assert not evidence.address_allowed(ipaddress.ip_address("169.254.169.254"))


def test_the_target_is_the_address_that_was_checked():
    calls = []

    def resolver(host, port):
        calls.append((host, port))
        return ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]

    target = evidence.check_target("https://camera.example/cam/1.jpg", resolver)
    assert target == evidence.Target("https", "camera.example", 443, "93.184.216.34")
    assert calls == [("camera.example", 443)]


def test_one_internal_address_among_public_ones_blocks_the_host():
    def resolver(host, port):
        return ["93.184.216.34", "::ffff:10.0.0.1"]

    with pytest.raises(evidence.EvidenceError) as err:
        evidence.check_target("http://camera.example:8080/x.png", resolver)
    assert err.value.code == "blocked_address"


def test_a_name_without_addresses_is_a_retryable_dns_failure():
    with pytest.raises(evidence.EvidenceError) as err:
        evidence.check_target("http://camera.example/x.png", lambda host, port: [])
    assert err.value.code == "dns_failed" and err.value.retryable is True
