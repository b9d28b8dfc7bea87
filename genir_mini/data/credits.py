"""Per-file credits of the GCompris README files, and the licence filter of the photo corpus.

A README holds blocks separated by blank lines, in the style of Debian's copyright files::

    Copyright: Kurt Kaiser
    License: CC0-1.0
    Source: https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg
    Files:
    bison.webp

The field order varies, ``Files:`` may list names on its own line or after the colon, a few blocks list
their files with no ``Files:`` key, and some add a ``Comment:``. ``parse_credits`` reads all of these;
``licence_kind`` maps a licence string to ``"public-domain"``, ``"cc0"`` or ``None`` (anything else).
"""

import re
from dataclasses import dataclass

FIELDS = {"copyright": "author", "author": "author", "license": "licence", "licence": "licence",
          "source": "source", "comment": "comment", "comments": "comment", "files": "files", "file": "files"}
_FIELD = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*?)\s*$")
_FILE = re.compile(r"^[\w.\-+*/ ]+\.\w{2,5}$")


@dataclass(frozen=True)
class Credit:
    file: str
    author: str
    licence: str
    source: str
    comment: str = ""


def parse_credits(text: str) -> dict:
    """``{file name: Credit}`` for every file a README's blocks name (a later block wins on a repeat)."""
    credits = {}
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        fields, files, key = {}, [], None
        for line in block.split("\n"):
            match = _FIELD.match(line)
            if match and match.group(1).lower() in FIELDS:
                key = FIELDS[match.group(1).lower()]
                value = match.group(2)
                if key == "files":
                    files += value.replace(",", " ").split()
                else:
                    fields[key] = value
            elif key == "files" or (line.strip() and _FILE.match(line.strip())):
                files += line.replace(",", " ").split()
            elif key and line.strip():  # a continuation of the previous field
                fields[key] = f"{fields.get(key, '')} {line.strip()}".strip()
        for name in files:
            credits[name] = Credit(name, fields.get("author", ""), fields.get("licence", ""),
                                   fields.get("source", ""), fields.get("comment", ""))
    return credits


def licence_kind(licence: str):
    """``"public-domain"``, ``"cc0"`` or ``None``: the licences under which weights trained on an image can
    ship with no condition. CC-BY, CC-BY-SA, GPL, unknown or missing licences give ``None``."""
    text = re.sub(r"[\s_\-.]+", " ", licence.lower()).strip()
    cc0 = r"(cc ?0|cc zero|creative commons zero)( 1 0)?( universal)?( public domain dedication)?"
    if re.fullmatch(cc0, text):
        return "cc0"
    if re.fullmatch(r"(pd|public domain)( mark)?( 1 0)?", text):
        return "public-domain"
    return None
