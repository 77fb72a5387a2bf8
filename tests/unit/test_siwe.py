"""EIP-4361 text, parsing, checks, signature recovery and the paste formats workers send back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from agreemint import siwe

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = Account.create()
# The example from EIP-4361 itself, byte for byte.
EIP_EXAMPLE = (
    "service.invalid wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "I accept the ServiceOrg Terms of Service: https://service.invalid/tos\n"
    "\n"
    "URI: https://service.invalid/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)


def message(**changes: object) -> siwe.SiweMessage:
    base = siwe.SiweMessage(
        domain="agreemint.local", address=ACCOUNT.address, uri="https://agreemint.local/wallet",
        chain_id=31337, nonce="abcDEF123456", issued_at=NOW,
        expiration_time=NOW + timedelta(minutes=15), statement="Link this wallet.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sign(text: str, key: bytes = ACCOUNT.key) -> str:
    return Account.sign_message(encode_defunct(text=text), key).signature.to_0x_hex()


def test_text_layout() -> None:
    assert message().text().split("\n") == [
        "agreemint.local wants you to sign in with your Ethereum account:",
        ACCOUNT.address, "", "Link this wallet.", "",
        "URI: https://agreemint.local/wallet", "Version: 1", "Chain ID: 31337",
        "Nonce: abcDEF123456", "Issued At: 2026-11-22T12:00:00Z",
        "Expiration Time: 2026-11-22T12:15:00Z",
    ]


def test_eip_example_round_trips() -> None:
    parsed = siwe.parse(EIP_EXAMPLE)
    assert parsed.domain == "service.invalid" and parsed.chain_id == 1
    assert parsed.nonce == "32891756" and len(parsed.resources) == 2
    assert parsed.issued_at == datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC)
    assert parsed.text() == EIP_EXAMPLE


@pytest.mark.parametrize("changes", [
    {}, {"statement": None}, {"expiration_time": None},
    {"not_before": NOW, "request_id": "req-1", "resources": ("https://a.example/x",)},
    {"scheme": "https", "domain": "localhost:3000"},
])
def test_parse_inverts_text(changes: dict[str, object]) -> None:
    built = message(**changes)
    assert siwe.parse(built.text()) == built
    assert siwe.parse(built.text().replace("\n", "\r\n") + "\n") == built


def test_no_statement_leaves_two_empty_lines() -> None:
    assert f"{ACCOUNT.address}\n\n\nURI:" in message(statement=None).text()


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace(" wants you", " would like you"),
    lambda t: t.replace("Version: 1", "Version: 2"),
    lambda t: t.replace("Chain ID: 31337", "Chain ID: main"),
    lambda t: t.replace("Nonce: abcDEF123456", "Nonce: short"),
    lambda t: t.replace("2026-11-22T12:00:00Z", "yesterday"),
    lambda t: t.replace("2026-11-22T12:00:00Z", "2026-11-22T12:00:00"),
    lambda t: t.replace("URI: ", "Url: "),
    lambda t: t.replace(ACCOUNT.address, ACCOUNT.address.lower()),
    lambda t: t.replace("\n\nLink", "\nLink"),
    lambda t: t + "\nSomething: else",
    lambda t: "",
])
def test_parse_refuses_malformed(mangle: object) -> None:
    with pytest.raises(siwe.SiweError):
        siwe.parse(mangle(message().text()))  # type: ignore[operator]


@pytest.mark.parametrize("changes", [
    {"domain": "a b"}, {"domain": "x.org/path"}, {"address": ACCOUNT.address.lower()},
    {"uri": "no-scheme"}, {"statement": "two\nlines"}, {"nonce": "abc-1234"},
    {"chain_id": 0},
])
def test_builder_validates(changes: dict[str, object]) -> None:
    with pytest.raises(siwe.SiweError):
        message(**changes)


def test_check() -> None:
    ok = message()
    siwe.check(ok, domain="agreemint.local", chain_id=31337, now=NOW)
    for kwargs in ({"domain": "evil.example", "chain_id": 31337, "now": NOW},
                   {"domain": "agreemint.local", "chain_id": 1, "now": NOW},
                   {"domain": "agreemint.local", "chain_id": 31337,
                    "now": NOW + timedelta(minutes=15)}):
        with pytest.raises(siwe.SiweError):
            siwe.check(ok, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(siwe.SiweError, match="not valid yet"):
        siwe.check(message(not_before=NOW + timedelta(1)), domain="agreemint.local",
                   chain_id=31337, now=NOW)


def test_nonce_is_random_and_alphanumeric() -> None:
    nonces = {siwe.new_nonce() for _ in range(100)}
    assert len(nonces) == 100 and all(n.isalnum() and len(n) == 20 for n in nonces)


def test_checksum_address() -> None:
    assert siwe.checksum_address(ACCOUNT.address.lower()) == ACCOUNT.address
    assert siwe.checksum_address(" 0x" + ACCOUNT.address[2:].upper() + "\n") == ACCOUNT.address
    broken_case = ACCOUNT.address[:2] + ACCOUNT.address[2:].swapcase()  # checksum fails
    for bad in ("0x123", ACCOUNT.address + "0", "0x" + "g" * 40, broken_case,
                ACCOUNT.address[2:], ""):
        with pytest.raises(siwe.BadAddress):
            siwe.checksum_address(bad)


def test_recover_and_signature_forms() -> None:
    text = message().text()
    signature = sign(text)
    raw = siwe.decode_signature(signature)
    assert siwe.recover(text, raw) == ACCOUNT.address
    assert siwe.decode_signature(signature[2:].upper()) == raw
    # v as 0/1 instead of 27/28 (some hardware wallets)
    assert siwe.recover(text, siwe.decode_signature(signature[:-2] + f"{raw[64] - 27:02x}")) \
        == ACCOUNT.address
    assert siwe.recover(text + " ", raw) != ACCOUNT.address


def test_compact_signature_eip2098() -> None:
    text = message().text()
    raw = siwe.decode_signature(sign(text))
    s = int.from_bytes(raw[32:64], "big") | ((raw[64] - 27) << 255)
    compact = "0x" + (raw[:32] + s.to_bytes(32, "big")).hex()
    assert siwe.decode_signature(compact) == raw


@pytest.mark.parametrize(
    "bad", ["0x12", "0x" + "ab" * 64 + "1f", "0x" + "zz" * 65, "0x" + "a" * 131]
)
def test_decode_signature_refuses(bad: str) -> None:
    with pytest.raises(siwe.SiweError):
        siwe.decode_signature(bad)


def test_recover_garbage_raises() -> None:
    with pytest.raises(siwe.SiweError):
        siwe.recover("x", b"\x00" * 64 + b"\x1b")


# -- paste formats ---------------------------------------------------------------------------

TEXT = message().text()
SIG = sign(TEXT)
RAW = siwe.decode_signature(SIG)
ADDR = ACCOUNT.address


@pytest.mark.parametrize(("paste", "address", "nonce"), [
    (SIG, None, None),
    (SIG[2:], None, None),
    (f"  {SIG}\n", None, None),
    (f"{ADDR} {SIG}", ADDR, None),
    (f"{SIG}\n{ADDR.lower()}", ADDR, None),
    (f"address: {ADDR}, signature: {SIG}", ADDR, None),
    (json.dumps({"address": ADDR, "signature": SIG}), ADDR, None),
    (json.dumps({"sig": SIG, "msg": TEXT}), ADDR, "abcDEF123456"),
    (json.dumps({"address": ADDR.lower(), "msg": TEXT, "sig": SIG, "version": "2"}),
     ADDR, "abcDEF123456"),
    (json.dumps({"Signature": SIG, "Message": "hello"}), None, None),
    (f"{TEXT}\n{SIG}", ADDR, "abcDEF123456"),
    (f"{TEXT}\n\nSignature:\n{SIG}\n", ADDR, "abcDEF123456"),
    (f"Message:\n{TEXT}\r\nSignature: {SIG}", ADDR, "abcDEF123456"),
])
def test_parse_submission_formats(paste: str, address: str | None, nonce: str | None) -> None:
    found = siwe.parse_submission(paste)
    assert found == siwe.Submission(RAW, address, nonce)
    assert siwe.looks_like_submission(paste)


@pytest.mark.parametrize(("paste", "error"), [
    ("hello", "no signature"),
    (SIG[:-4], "126 hex digits"),
    (f"{SIG} {sign(TEXT + '!')}", "more than one signature"),
    (f"{ADDR} {Account.create().address} {SIG}", "more than one address"),
    ("{not json", "cannot be read"),
    (json.dumps({"address": ADDR}), "no signature"),
    (json.dumps({"address": Account.create().address, "msg": TEXT, "sig": SIG}), "differs"),
])
def test_parse_submission_refuses(paste: str, error: str) -> None:
    with pytest.raises(siwe.SiweError, match=error):
        siwe.parse_submission(paste)


@pytest.mark.parametrize("paste", [
    f"0x1234 {SIG}", json.dumps({"address": "0xnope", "sig": SIG}),
    f"{ADDR[:2]}{ADDR[2:].swapcase()} {SIG}",
])
def test_parse_submission_malformed_address(paste: str) -> None:
    with pytest.raises(siwe.BadAddress):
        siwe.parse_submission(paste)


def test_looks_like() -> None:
    assert siwe.looks_like_address(ADDR) and siwe.looks_like_address("0x123")
    assert not siwe.looks_like_address("hello") and not siwe.looks_like_address(SIG)
    assert not siwe.looks_like_submission("dog") and not siwe.looks_like_submission(ADDR)
    assert not siwe.looks_like_submission('{"answer": "dog"}')
