"""A zip package edited member by member: unchanged members are copied as they are stored
(their compressed bytes, CRC and all), changed or new ones are compressed once.

Copying the stored bytes keeps every part sheetsync does not touch byte for byte the same
and costs almost nothing however big the workbook is (no decompressing and compressing
again of sheets that did not change).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from typing import Iterator

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # local file header
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory record
_END = struct.Struct("<4s4H2LH")  # end of central directory
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_UTF8 = 0x800
_BIG = 1 << 20
_DOS_1980 = (0, (1 << 5) | 1)  # (time, date) of 1980-01-01 00:00, what Excel stamps on every part


class Package:
    """The members of a zip package: read, replace, add, remove, then ``bytes()``."""

    def __init__(self, data: bytes):
        self.data = data
        self.zf = zipfile.ZipFile(io.BytesIO(data))
        self.infos = self.zf.infolist()
        self._names = {i.filename for i in self.infos}
        self.changed: dict[str, bytes] = {}
        self.added: list[str] = []
        self.removed: set[str] = set()

    def names(self) -> Iterator[str]:
        for info in self.infos:
            if info.filename not in self.removed:
                yield info.filename
        yield from (n for n in self.added if n not in self.removed)

    def __contains__(self, name: str) -> bool:
        return name not in self.removed and (name in self._names or name in self.changed)

    def read(self, name: str) -> bytes:
        if name in self.removed:
            raise KeyError(name)
        if name in self.changed:
            return self.changed[name]
        return self.zf.read(name)

    def get(self, name: str) -> bytes | None:
        return self.read(name) if name in self else None

    def write(self, name: str, content: bytes) -> None:
        self.removed.discard(name)
        if name not in self._names and name not in self.changed:
            self.added.append(name)
        self.changed[name] = content

    def remove(self, name: str) -> None:
        self.removed.add(name)
        self.changed.pop(name, None)

    def is_changed(self) -> bool:
        return bool(self.changed or self.removed)

    def to_bytes(self) -> bytes:
        """The package: every member in its original order (new ones at the end)."""
        if any(_zip64(info) for info in self.infos):
            return self._rewritten()
        out = io.BytesIO()
        central: list[bytes] = []
        for info in self.infos:
            name = info.filename
            if name in self.removed:
                continue
            offset = out.tell()
            if name in self.changed:
                central.append(_write_new(out, name, self.changed[name], offset, info))
            else:
                central.append(self._copy_stored(out, info, offset))
        for name in self.added:
            if name not in self.removed and name in self.changed:
                central.append(_write_new(out, name, self.changed[name], out.tell(), None))
        start = out.tell()
        for record in central:
            out.write(record)
        size = out.tell() - start
        out.write(_END.pack(_END_SIG, 0, 0, len(central), len(central), size, start, 0))
        return out.getvalue()

    def _copy_stored(self, out: io.BytesIO, info: zipfile.ZipInfo, offset: int) -> bytes:
        data = self.data
        head = info.header_offset
        fields = _LOCAL.unpack_from(data, head)
        if fields[0] != _LOCAL_SIG:
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_len, extra_len = fields[10], fields[11]
        end = head + _LOCAL.size + name_len + extra_len + info.compress_size
        if info.flag_bits & 0x08:  # sizes follow the data in a descriptor
            end += 16 if data[end:end + 4] == _DESCRIPTOR_SIG else 12
        out.write(data[head:end])
        return _central(info, offset)

    def _rewritten(self) -> bytes:
        """The plain way, for the rare zip64 package: every member decompressed and written again."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
            for name in self.names():
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, self.read(name))
        return out.getvalue()


def _zip64(info: zipfile.ZipInfo) -> bool:
    return (info.header_offset >= 0xFFFFFFFF or info.compress_size >= 0xFFFFFFFF
            or info.file_size >= 0xFFFFFFFF)


def _central(info: zipfile.ZipInfo, offset: int) -> bytes:
    name = info.filename.encode("utf-8" if info.flag_bits & _UTF8 else "cp437")
    dt = info.date_time
    dos_time = (dt[3] << 11) | (dt[4] << 5) | (dt[5] // 2)
    dos_date = ((dt[0] - 1980) << 9) | (dt[1] << 5) | dt[2]
    return _CENTRAL.pack(
        _CENTRAL_SIG, info.create_version, info.create_system, info.extract_version, info.reserved,
        info.flag_bits, info.compress_type, dos_time, dos_date, info.CRC, info.compress_size, info.file_size,
        len(name), len(info.extra), len(info.comment), 0, info.internal_attr, info.external_attr, offset,
    ) + name + info.extra + info.comment


def _write_new(out: io.BytesIO, name: str, content: bytes, offset: int, like: zipfile.ZipInfo | None) -> bytes:
    """Write a member compressed (deflate), return its central directory record. A big part
    (a sheet of many rows) is compressed quickly rather than tightly: it is written again at
    every change of one of its cells."""
    compressor = zlib.compressobj(1 if len(content) > _BIG else 6, zlib.DEFLATED, -15)
    packed = compressor.compress(content) + compressor.flush()
    crc = zlib.crc32(content)
    try:
        encoded = name.encode("ascii")
        flags = 0
    except UnicodeEncodeError:
        encoded = name.encode("utf-8")
        flags = _UTF8
    dos_time, dos_date = _DOS_1980
    out.write(_LOCAL.pack(_LOCAL_SIG, 20, 0, flags, 8, dos_time, dos_date, crc, len(packed), len(content),
                          len(encoded), 0))
    out.write(encoded)
    out.write(packed)
    external = like.external_attr if like is not None else 0
    return _CENTRAL.pack(
        _CENTRAL_SIG, 20, 0, 20, 0, flags, 8, dos_time, dos_date, crc, len(packed), len(content),
        len(encoded), 0, 0, 0, 0, external, offset,
    ) + encoded


def member_digests(zf: zipfile.ZipFile, data: bytes, known: dict[str, tuple[str, str]] | None = None
                   ) -> dict[str, tuple[str, str]]:
    """Member name -> (how it is stored: method, CRC, sizes and the SHA-256 of its compressed
    bytes; the SHA-256 of its content). A member stored exactly as in ``known`` (an earlier
    answer) keeps the content digest found then without being decompressed; any other is
    decompressed (its CRC checked) and hashed. Equal content digests mean equal content."""
    known = known or {}
    out: dict[str, tuple[str, str]] = {}
    for info in zf.infolist():
        head = info.header_offset
        fields = _LOCAL.unpack_from(data, head)
        if fields[0] != _LOCAL_SIG:
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        start = head + _LOCAL.size + fields[10] + fields[11]
        packed = hashlib.sha256(data[start:start + info.compress_size]).hexdigest()
        stored = f"{info.compress_type}:{info.CRC:08x}:{info.file_size}:{info.compress_size}:{packed}"
        before = known.get(info.filename)
        if before is not None and before[0] == stored:
            out[info.filename] = before
        else:
            out[info.filename] = (stored, hashlib.sha256(zf.read(info)).hexdigest())
    return out


def surely_changed(zf: zipfile.ZipFile, known: dict[str, tuple[str, str]] | None) -> set[str]:
    """The members whose content certainly differs from ``known`` (a ``member_digests``
    answer): new ones, and those whose CRC or size is not what it was. Found from the zip's
    directory alone; a member not among them may still have changed (``member_digests`` tells)."""
    known = known or {}
    out = set()
    for info in zf.infolist():
        before = known.get(info.filename)
        fields = before[0].split(":") if before is not None else []
        if len(fields) < 3 or fields[1] != f"{info.CRC:08x}" or fields[2] != str(info.file_size):
            out.add(info.filename)
    return out
