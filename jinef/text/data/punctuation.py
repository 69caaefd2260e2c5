"""Which characters separate parts of an address, and which only separate words."""

from __future__ import annotations

# Between parts of an address: «تهران، خیابان آزادی - کوچه ۵». Normalised to «،».
STRONG_SEPARATORS = "،؛,;-–—‒―−/\\|()[]{}<>؟?!\n\r\t\u2028\u2029"
# Between words only: «خ.آزادی», «پلاک: ۱۲», quotes around a name. Normalised to a space.
WEAK_SEPARATORS = ".:٫٬۔…'\"«»‹›“”‘’`´_*#+=~^@$%&№°•·٭"
# The canonical separator written between parts.
SEPARATOR = "،"
