"""A reader of Qt's binary resource files (``.rcc``), in the standard library only.

The layout (Qt's ``rcc`` tool, formats 1-3; all integers big-endian)::

    header   b"qres", version u32, tree offset u32, data offset u32, names offset u32 [, flags u32 if v3]
    tree     one node per file or folder, node 0 the root; each node is
             name offset u32, flags u16 (1 = zlib, 2 = folder, 4 = zstd), then
             folder: child count u32, index of first child u32  |  file: country u16, language u16, data offset u32
             and, from version 2 on, a last-modified time u64
    names    at a node's name offset: length u16, hash u32, then the name in UTF-16 (big-endian)
    data     at a file's data offset: length u32, then the bytes; a zlib-compressed file's bytes are
             qCompress's: the uncompressed length u32, then a zlib stream

``read_rcc(path)`` returns ``{path inside the archive: bytes}`` (``tests/test_corpus.py`` writes small
archives in this format to test it).
"""

import struct
import zlib
from pathlib import Path

MAGIC = b"qres"
COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 0x01, 0x02, 0x04


def _name(raw: bytes, names: int, offset: int) -> str:
    (length,) = struct.unpack_from(">H", raw, names + offset)
    start = names + offset + 6  # after the length and the hash
    return raw[start : start + 2 * length].decode("utf-16-be")


def _payload(raw: bytes, data: int, offset: int, flags: int, where: str) -> bytes:
    (length,) = struct.unpack_from(">I", raw, data + offset)
    blob = raw[data + offset + 4 : data + offset + 4 + length]
    if flags & COMPRESSED_ZSTD:
        raise ValueError(f"{where}: zstd-compressed entries are not supported")
    if flags & COMPRESSED:
        (expected,) = struct.unpack_from(">I", blob)
        blob = zlib.decompress(blob[4:])
        if len(blob) != expected:
            raise ValueError(f"{where}: decompressed {len(blob)} bytes, the entry says {expected}")
    return blob


def read_rcc(path) -> dict:
    """Every file of the ``.rcc`` archive at ``path`` as ``{"folder/name.ext": bytes}`` (sorted by path)."""
    raw = Path(path).read_bytes()
    if raw[:4] != MAGIC:
        raise ValueError(f"{path} is not a Qt resource file (no 'qres' header)")
    version, tree, data, names = struct.unpack_from(">IIII", raw, 4)
    if version not in (1, 2, 3):
        raise ValueError(f"{path}: unsupported .rcc format version {version}")
    node_size = 14 if version == 1 else 22
    files = {}

    def visit(index: int, prefix: str):
        at = tree + index * node_size
        name_offset, flags = struct.unpack_from(">IH", raw, at)
        name = "" if index == 0 else _name(raw, names, name_offset)
        where = f"{prefix}{name}"
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", raw, at + 6)
            for child in range(first, first + count):
                visit(child, f"{where}/" if where else "")
        else:
            (offset,) = struct.unpack_from(">I", raw, at + 10)
            files[where] = _payload(raw, data, offset, flags, f"{path}:{where}")

    visit(0, "")
    return dict(sorted(files.items()))
