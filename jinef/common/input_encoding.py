"""The text encoding of an input file: detected (UTF-8 with or without BOM, UTF-16, Windows-1256) or given.

Persian address files come out of Excel on Windows as Windows-1256 ("Arabic (Windows)") or UTF-16
as often as UTF-8. Reading one as the wrong encoding does not fail: every byte turns into some
character, and the geocoder then finds no Persian text in any row. So the encoding is decided
before reading, from the bytes: a byte order mark names it; NUL bytes at every other place mean
UTF-16 without a mark; a file that decodes as UTF-8 from start to end is UTF-8 (text in any
other 8-bit encoding almost never does), and so is one whose Persian letters decode as UTF-8
before a broken byte; anything else is taken as Windows-1256, the 8-bit encoding Persian text is
written in. ``--encoding`` overrides the guess.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import BinaryIO

from jinef.common.messages import Message, MessageError, message

DEFAULT_8BIT = "cp1256"  # Windows-1256: what Excel on a Persian Windows saves as "CSV"
_SAMPLE = 1 << 16
_CHUNK = 1 << 20
_UTF8_EVIDENCE = 8  # Persian letters decoded as UTF-8 before a bad byte that make the file UTF-8 with an error
# Arabic-script letters (Persian is written in them), including the presentation forms some old files use.
PERSIAN_TEXT = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
ENCODING_CHOICES = ("utf-8", "utf-16", "cp1256")  # what a user is told to try


def check_encoding(name: str) -> str:
    """``name`` when Python knows the codec, else a :class:`MessageError` (a ValueError) saying so."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise MessageError(message("encoding.unknown", name=name, choices=ENCODING_CHOICES)) from None


def detect_encoding(path: str | Path) -> str:
    """The encoding to read ``path`` with (a Python codec name): see the module's notes for the rule."""
    with open(path, "rb") as fh:
        return detect_stream_encoding(fh)


def detect_stream_encoding(fh: BinaryIO) -> str:
    """:func:`detect_encoding` for an open binary file (an HTTP upload), read from its current position."""
    start = fh.tell()
    head = fh.read(_SAMPLE)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the mark and the byte order from it
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    fh.seek(start)
    decoder = codecs.getincrementaldecoder("utf-8")()
    persian = 0  # Arabic-script letters decoded so far (counted until there are enough)
    try:
        while chunk := fh.read(_CHUNK):
            text = decoder.decode(chunk)
            if persian < _UTF8_EVIDENCE:
                persian += len(PERSIAN_TEXT.findall(text))
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        if persian < _UTF8_EVIDENCE:
            persian += len(PERSIAN_TEXT.findall(chunk[:exc.start].decode("utf-8", "ignore")))
        # Persian letters already read as UTF-8 (which Windows-1256 text almost never decodes to): a UTF-8
        # file with a broken byte, better refused as such than read whole as Windows-1256 gibberish.
        return "utf-8" if persian >= _UTF8_EVIDENCE else DEFAULT_8BIT
    return "utf-8"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 of Persian text has 0x00 (digits, spaces, ASCII) or 0x06 (Arabic-script letters) as every high
    byte; UTF-8 and 8-bit text have neither byte anywhere."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    high_odd = (odd.count(0) + odd.count(6)) / len(odd)
    high_even = (even.count(0) + even.count(6)) / len(even)
    if high_odd > 0.7 and high_even < 0.3:
        return "utf-16-le"
    if high_even > 0.7 and high_odd < 0.3:
        return "utf-16-be"
    return None


def reading_error(path: str | Path, encoding: str, exc: UnicodeDecodeError) -> Message:
    """The message for a file that stops decoding part way (usually a wrong ``--encoding``)."""
    return message("encoding.unreadable", path=str(path), encoding=encoding, byte=exc.start, reason=exc.reason,
                   choices=ENCODING_CHOICES)
