"""Schemas of the evidence domain: what goes on chain, and the metadata document that does not.

On chain (public, in every block and receipt) an ``evidence.deposit`` holds only

* ``files_root`` — the RFC 9162 Merkle tree hash, with SM3, over the deposit's files, each
  leaf being the file's 32-byte SM3 digest (``leaf = SM3(0x00 ‖ digest)``);
* ``file_count`` — how many files the tree has;
* ``metadata_commitment`` — ``hex(SM3(salt ‖ C(metadata)))``: a salted commitment to the
  metadata document (title, case reference, provenance, the file list with sizes and media
  types), ``salt`` being 16 to 64 random bytes and ``C`` RFC 8785 canonical JSON.

The metadata document itself (``Metadata`` below) is restricted: the depositor hands it to the
node, which checks it against the commitment and the files root and serves it only to the
depositor, the current custodian, courts and auditors. :func:`deposit_payload` builds the
on-chain payload from a metadata document and its salt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from ledger.domains.base import Payload
from ledger.domains.evidence.verify import files_root, metadata_commitment

MAX_FILES = 10_000
MAX_SAFE_INT = 2**53 - 1

Sm3Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
SaltHex = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{2}){16,64}$")]
MemberId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")]
# a line of text: no control characters
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$")]
# "(2026)粤0192民初123号", "（2025）粤01民终4567号", "(2024)最高法知民终1号之一"
CASE_REF_PATTERN = (
    r"^[(（]\d{4}[)）][\u4e00-\u9fff]{1,4}\d{0,4}[\u4e00-\u9fff]{1,8}\d{1,7}号"
    r"(?:之[\u4e00-\u9fff\d]{1,4})?$"
)
MEDIA_TYPE_PATTERN = r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$"

CustodyKind = Literal["access", "transfer", "seal", "unseal", "cease_processing"]
CUSTODY_KINDS: tuple[str, ...] = ("access", "transfer", "seal", "unseal", "cease_processing")


# --- on chain -------------------------------------------------------------------------------


class DepositPayload(Payload):
    """``evidence.deposit``: the public part of a deposit. Its id is the transaction id."""

    v: Literal[1] = 1
    files_root: Sm3Hex = Field(
        description="RFC 9162 SM3 Merkle tree hash over the files' SM3 digests, in file order"
    )
    file_count: int = Field(ge=1, le=MAX_FILES, description="number of files in the tree")
    metadata_commitment: Sm3Hex = Field(
        description="hex SM3(salt ‖ C(metadata)) of the restricted metadata document"
    )


class CustodyPayload(Payload):
    """``evidence.custody``: one custody event of a deposit (who may record which: see rules)."""

    v: Literal[1] = 1
    deposit_id: Sm3Hex
    kind: CustodyKind
    to: MemberId | None = Field(
        default=None, description="the new custodian; required for a transfer, else absent"
    )
    details_commitment: Sm3Hex | None = Field(
        default=None,
        description="optional salted SM3 commitment to an off-chain note (order, reason)",
    )

    @model_validator(mode="after")
    def _to_only_for_transfer(self) -> CustodyPayload:
        if self.kind == "transfer" and self.to is None:
            raise ValueError("a transfer names the new custodian in 'to'")
        if self.kind != "transfer" and self.to is not None:
            raise ValueError(f"'to' is only for a transfer, not for {self.kind!r}")
        return self


# --- off chain (restricted) -----------------------------------------------------------------


class FileEntry(Payload):
    sm3: Sm3Hex
    size: int = Field(ge=0, le=MAX_SAFE_INT, description="bytes")
    media_type: Annotated[str, StringConstraints(pattern=MEDIA_TYPE_PATTERN)]
    name: Annotated[Text, StringConstraints(min_length=1, max_length=255)]


class Tool(Payload):
    name: Annotated[Text, StringConstraints(min_length=1, max_length=100)]
    version: Annotated[Text, StringConstraints(min_length=1, max_length=50)]


class Environment(Payload):
    """Where the capture ran: what a court asks when it reviews data made before the chain."""

    os: Annotated[Text, StringConstraints(min_length=1, max_length=100)]
    software: Annotated[Text, StringConstraints(max_length=200)] | None = None
    network: Annotated[Text, StringConstraints(max_length=200)] | None = None
    time_source: Annotated[Text, StringConstraints(max_length=200)] | None = None
    clean_check: Annotated[Text, StringConstraints(max_length=500)] | None = None


class Provenance(Payload):
    """How the data was collected before it reached the ledger (online litigation rules,
    Art. 18: source, how it was produced and kept)."""

    method: Literal[
        "web_capture",
        "screen_recording",
        "file_upload",
        "email_capture",
        "chat_capture",
        "device_extraction",
        "other",
    ]
    source: Annotated[Text, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="URL or address the data was collected from"
    )
    captured_at: int = Field(ge=0, le=MAX_SAFE_INT, description="capture time, ms since epoch")
    tool: Tool
    environment: Environment
    operator: Annotated[Text, StringConstraints(max_length=100)] | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Metadata(Payload):
    """The restricted metadata document of a deposit; committed to on chain."""

    v: Literal[1] = 1
    title: Annotated[Text, StringConstraints(min_length=1, max_length=200)]
    case_ref: Annotated[str, StringConstraints(pattern=CASE_REF_PATTERN)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    files: list[FileEntry] = Field(min_length=1, max_length=MAX_FILES)
    provenance: Provenance

    @model_validator(mode="after")
    def _distinct_files(self) -> Metadata:
        seen: set[str] = set()
        for i, f in enumerate(self.files):
            if f.sm3 in seen:
                raise ValueError(f"file {i} repeats the SM3 of an earlier file of the deposit")
            seen.add(f.sm3)
        return self


class MetadataSubmission(Payload):
    """Body of ``PUT /v1/evidence/deposits/{id}/metadata``."""

    salt: SaltHex
    metadata: Metadata


# --- building a deposit ---------------------------------------------------------------------


def new_salt() -> str:
    """128 random bits, hex."""
    return os.urandom(16).hex()


def deposit_payload(metadata: Mapping[str, Any], salt: str) -> dict[str, Any]:
    """The ``evidence.deposit`` payload for a metadata document (see :class:`Metadata`)."""
    hashes = [f["sm3"] for f in metadata["files"]]
    return {
        "v": 1,
        "files_root": files_root(hashes),
        "file_count": len(hashes),
        "metadata_commitment": metadata_commitment(salt, metadata),
    }
