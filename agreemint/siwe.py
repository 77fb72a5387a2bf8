"""Sign-In with Ethereum (EIP-4361) without the `siwe` package: build, parse, check, recover.

Pure functions over text. The `siwe` package pins an older web3 and an abnf that breaks on
import (see the toolchain notes), and the format is plain line joins, so it is rebuilt here;
signatures are checked with eth-account (`personal_sign`, EIP-191), as every wallet signs it.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address, to_checksum_address

VERSION = "1"
HEADER = " wants you to sign in with your Ethereum account:"
NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 20  # ~119 bits; EIP-4361 asks for at least 8 alphanumerics

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_OPTIONAL = (("expiration_time", "Expiration Time: "), ("not_before", "Not Before: "),
             ("request_id", "Request ID: "))


class SiweError(ValueError):
    """Text that is not a well-formed EIP-4361 message, address or signature."""


class BadAddress(SiweError):
    """Something written as an address that is not a valid one."""


@dataclass(frozen=True, slots=True)
class SiweMessage:
    """The fields of one EIP-4361 message; `text()` is exactly what the wallet signs."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default=())
    version: str = VERSION
    scheme: str | None = None

    def __post_init__(self) -> None:
        if not self.domain or any(c.isspace() or c == "/" for c in self.domain):
            raise SiweError(f"domain must be an authority like host[:port], got {self.domain!r}")
        if not _ADDRESS.match(self.address) or to_checksum_address(self.address) != self.address:
            raise SiweError("address must be EIP-55 checksummed")
        if ":" not in self.uri or any(c.isspace() for c in self.uri):
            raise SiweError(f"uri must be an absolute URI, got {self.uri!r}")
        if self.statement is not None and "\n" in self.statement:
            raise SiweError("statement must be one line")
        if not _NONCE.match(self.nonce):
            raise SiweError("nonce must be at least 8 letters or digits")
        if self.chain_id < 1 or self.version != VERSION:
            raise SiweError("chain id must be positive and version 1")

    def text(self) -> str:
        """The message as EIP-4361 lays it out (LF line ends, no trailing newline)."""
        scheme = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{scheme}{self.domain}{HEADER}", self.address, ""]
        if self.statement is not None:
            lines += [self.statement, ""]
        else:
            lines.append("")
        lines += [f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}",
                  f"Nonce: {self.nonce}", f"Issued At: {rfc3339(self.issued_at)}"]
        for name, tag in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                lines.append(tag + (rfc3339(value) if isinstance(value, datetime) else value))
        if self.resources:
            lines += ["Resources:", *(f"- {r}" for r in self.resources)]
        return "\n".join(lines)


def rfc3339(moment: datetime) -> str:
    """UTC, second precision, `Z` suffix: the form wallets display and parsers accept."""
    if moment.tzinfo is None:
        raise SiweError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_nonce() -> str:
    """A fresh random nonce (letters and digits only, as the ABNF allows)."""
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


def checksum_address(text: str) -> str:
    """The EIP-55 form of an address; mixed case must already carry a valid checksum."""
    candidate = text.strip()
    if not _ADDRESS.match(candidate):
        raise BadAddress("not a valid Ethereum address")
    digits = candidate[2:]
    # Mixed case is an EIP-55 checksum; a wrong one is a typo, not an address to pay.
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(candidate):
        raise BadAddress("the address's checksum (its upper/lower case) is wrong")
    return to_checksum_address(candidate)


def _time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SiweError(f"not an RFC 3339 timestamp: {value!r}") from exc
    if moment.tzinfo is None:
        raise SiweError(f"timestamp without a time zone: {value!r}")
    return moment.astimezone(UTC)


def parse(text: str) -> SiweMessage:
    """The fields of an EIP-4361 message; raises SiweError on anything out of format."""
    lines: Iterator[str] = iter(text.replace("\r\n", "\n").strip("\n").split("\n"))

    def take(tag: str) -> str:
        line = next(lines, None)
        if line is None or not line.startswith(tag):
            raise SiweError(f"expected {tag.strip()!r}, got {line!r}")
        return line[len(tag):]

    def blank() -> None:
        if (line := next(lines, None)) != "":
            raise SiweError(f"expected an empty line, got {line!r}")

    first = next(lines)
    if not first.endswith(HEADER):
        raise SiweError("not a Sign-In with Ethereum message")
    scheme, _, domain = first[: -len(HEADER)].rpartition("://")
    address = take("")
    blank()
    statement: str | None = take("")
    if statement:
        blank()
    else:
        statement = None  # no statement: the ABNF leaves two empty lines
    fields: dict[str, str] = {}
    for name, tag in (("uri", "URI: "), ("version", "Version: "), ("chain_id", "Chain ID: "),
                      ("nonce", "Nonce: "), ("issued_at", "Issued At: ")):
        fields[name] = take(tag)
    rest = list(lines)
    for name, tag in _OPTIONAL:
        if rest and rest[0].startswith(tag):
            fields[name] = rest.pop(0)[len(tag):]
    resources: list[str] = []
    if rest and rest[0] == "Resources:":
        resources = [line[2:] for line in rest[1:] if line.startswith("- ")]
        rest = [line for line in rest[1:] if not line.startswith("- ")]
    if rest:
        raise SiweError(f"unexpected line {rest[0]!r}")
    if not fields["chain_id"].isdigit():
        raise SiweError("chain id must be a number")
    return SiweMessage(
        domain=domain, address=address, uri=fields["uri"], chain_id=int(fields["chain_id"]),
        nonce=fields["nonce"], issued_at=_time(fields["issued_at"]), statement=statement,
        expiration_time=_time(fields["expiration_time"]) if "expiration_time" in fields else None,
        not_before=_time(fields["not_before"]) if "not_before" in fields else None,
        request_id=fields.get("request_id"), resources=tuple(resources), version=fields["version"],
        scheme=scheme or None,
    )


def check(message: SiweMessage, *, domain: str, chain_id: int, now: datetime) -> None:
    """Raises SiweError unless the message is for this domain and chain and valid at `now`."""
    if message.domain != domain:
        raise SiweError(f"message is for {message.domain!r}, not {domain!r}")
    if message.chain_id != chain_id:
        raise SiweError(f"message is for chain {message.chain_id}, not {chain_id}")
    if message.expiration_time is not None and now >= message.expiration_time:
        raise SiweError("message has expired")
    if message.not_before is not None and now < message.not_before:
        raise SiweError("message is not valid yet")


def decode_signature(text: str) -> bytes:
    """65 bytes r‖s‖v from hex (with or without 0x); 64-byte EIP-2098 compact form expanded."""
    digits = text.strip().removeprefix("0x").removeprefix("0X")
    if len(digits) not in (128, 130) or any(c not in string.hexdigits for c in digits):
        raise SiweError("a signature is 65 bytes: 0x and 130 hex digits")
    raw = bytes.fromhex(digits)
    if len(raw) == 64:
        # EIP-2098: the top bit of s carries y-parity.
        vs = int.from_bytes(raw[32:], "big")
        s = vs & ((1 << 255) - 1)
        return raw[:32] + s.to_bytes(32, "big") + bytes([27 + (vs >> 255)])
    if raw[64] not in (0, 1, 27, 28):
        raise SiweError("the signature's last byte (v) must be 0, 1, 27 or 28")
    return raw


def recover(text: str, signature: bytes) -> str:
    """The checksummed address that signed `text` with personal_sign (EIP-191)."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception as exc:  # eth-keys raises several types for garbage r/s
        raise SiweError("the signature cannot be recovered") from exc


# -- what workers paste back ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Submission:
    """A pasted reply: the signature, and the address and nonce when the paste names them."""

    signature: bytes
    address: str | None = None  # checksummed
    nonce: str | None = None


# Hex runs are bounded by non-hex characters so that a longer blob is never cut into a match.
_SIG_TOKEN = re.compile(r"(?<![0-9a-fA-Fx])(?:0[xX])?[0-9a-fA-F]{128}(?:[0-9a-fA-F]{2})?"
                        r"(?![0-9a-fA-F])")
_HEX_RUN = re.compile(r"(?:0[xX])?[0-9a-fA-F]{100,}")
_HEX_TOKEN = re.compile(r"(?<![0-9a-zA-Z])0[xX][0-9a-zA-Z]+")
_NONCE_LINE = re.compile(r"^Nonce: ([A-Za-z0-9]+)\s*$", re.MULTILINE)
_SIG_KEYS = ("signature", "sig", "signedmessage")
_ADDRESS_KEYS = ("address", "addr", "account", "signer", "from")
_MESSAGE_KEYS = ("message", "msg")


def looks_like_submission(text: str) -> bool:
    """Whether a chat message is meant as a signed reply (so the wallet flow should take it)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return any(f'"{key}"' in stripped.lower() for key in _SIG_KEYS)
    return HEADER in stripped or _HEX_RUN.search(stripped) is not None


def looks_like_address(text: str) -> bool:
    """One 0x… word, short of a signature: an address, or a mistyped one."""
    stripped = text.strip()
    return stripped[:2].lower() == "0x" and len(stripped) < 100 and " " not in stripped


def parse_submission(text: str) -> Submission:
    """Read a bare signature, "address signature", wallet JSON, or the message plus signature."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _from_json(stripped)
    signature = _one_signature(stripped)
    rest = _SIG_TOKEN.sub(" ", stripped)
    if HEADER in rest:
        return _with_message(signature, rest)
    addresses = {checksum_address(t) if len(t) == 42 else _bad(t) for t in _HEX_TOKEN.findall(rest)}
    if len(addresses) > 1:
        raise SiweError("the reply names more than one address")
    return Submission(signature, next(iter(addresses), None))


def _bad(token: str) -> str:
    raise BadAddress(f"{token[:12]}… is not a valid address")


def _one_signature(text: str) -> bytes:
    found = {decode_signature(t) for t in _SIG_TOKEN.findall(text)}
    if len(found) > 1:
        raise SiweError("the reply holds more than one signature")
    if found:
        return found.pop()
    if run := _HEX_RUN.search(text):
        digits = len(run.group().removeprefix("0x").removeprefix("0X"))
        raise SiweError(f"the signature has {digits} hex digits; a full one has 130")
    raise SiweError("no signature found")


def _with_message(signature: bytes, message: str) -> Submission:
    lines = message[message.index(HEADER):].split("\n")
    address = checksum_address(lines[1]) if len(lines) > 1 and lines[1].strip() else None
    nonce = _NONCE_LINE.search(message)
    return Submission(signature, address, nonce.group(1) if nonce else None)


def _from_json(text: str) -> Submission:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SiweError("the reply looks like JSON but cannot be read") from exc
    fields = {str(k).lower(): v for k, v in data.items() if isinstance(v, str)}
    raw = next((fields[k] for k in _SIG_KEYS if k in fields), None)
    if raw is None:
        raise SiweError("the JSON has no signature")
    signature = decode_signature(raw)
    message = next((fields[k] for k in _MESSAGE_KEYS if k in fields), None)
    if message is not None and HEADER in message:
        found = _with_message(signature, message)
    else:
        found = Submission(signature)
    address = next((fields[k] for k in _ADDRESS_KEYS if k in fields), None)
    if address is None:
        return found
    named = checksum_address(address) if _ADDRESS.match(address.strip()) else _bad(address)
    if found.address is not None and found.address != named:
        raise SiweError("the JSON's address differs from the one in its message")
    return Submission(signature, named, found.nonce)
