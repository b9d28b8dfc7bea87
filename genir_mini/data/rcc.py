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

``read_rcc(path)`` returns ``{path inside the archive: bytes}``; ``write_rcc`` writes the same format (the
tests build small archives with it).
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


def qt_hash(name: str) -> int:
    """Qt's ``qt_hash`` of a name (the order of a folder's children in the tree table)."""
    h = 0
    for unit in struct.unpack(f">{len(name.encode('utf-16-be')) // 2}H", name.encode("utf-16-be")):
        h = ((h << 4) + unit) & 0xFFFFFFFF
        h = (h ^ ((h & 0xF0000000) >> 23)) & 0x0FFFFFFF
    return h


def write_rcc(path, files: dict, compress=(), version: int = 3):
    """Write ``{"folder/name": bytes}`` as an ``.rcc`` archive; paths in ``compress`` are stored zlib-compressed."""
    root: dict = {}
    for key, blob in files.items():
        node = root
        *folders, leaf = key.split("/")
        for part in folders:
            node = node.setdefault(part, {})
        node[leaf] = blob
    names, name_offsets = bytearray(), {}
    data = bytearray()
    nodes = [None]  # node 0: the root folder, filled in below
    node_size = 14 if version == 1 else 22

    def name_offset(name):
        if name not in name_offsets:
            name_offsets[name] = len(names)
            encoded = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(encoded) // 2, qt_hash(name)) + encoded)
        return name_offsets[name]

    def folder(children: dict, prefix: str) -> tuple:
        """Append the children of a folder breadth-first; return (count, index of first child)."""
        first = len(nodes)
        order = sorted(children, key=qt_hash)
        nodes.extend([None] * len(order))
        for i, name in enumerate(order):
            child, key = children[name], f"{prefix}{name}"
            if isinstance(child, dict):
                nodes[first + i] = (name_offset(name), DIRECTORY, *folder(child, f"{key}/"))
            else:
                blob = child
                flags = 0
                if key in compress:
                    blob, flags = struct.pack(">I", len(blob)) + zlib.compress(blob), COMPRESSED
                offset = len(data)
                data.extend(struct.pack(">I", len(blob)) + blob)
                nodes[first + i] = (name_offset(name), flags, 0, offset)  # country/language 0
        return len(order), first

    nodes[0] = (0, DIRECTORY, *folder(root, ""))
    header = 24 if version == 3 else 20
    tree = bytearray()
    for name_off, flags, a, b in nodes:
        tree.extend(struct.pack(">IH", name_off, flags))
        tree.extend(struct.pack(">II", a, b) if flags & DIRECTORY else struct.pack(">HHI", 0, 0, b))
        if version >= 2:
            tree.extend(struct.pack(">Q", 0))
    assert len(tree) == len(nodes) * node_size
    tree_at, data_at = header, header + len(tree)
    names_at = data_at + len(data)
    head = MAGIC + struct.pack(">IIII", version, tree_at, data_at, names_at)
    if version == 3:
        head += struct.pack(">I", 0)
    Path(path).write_bytes(head + tree + data + names)
