"""``jinef.Registry``: the typed read API — lookups, geocoding, reverse geocoding, autocomplete — over a read image.

Opening a registry maps its compiled read image (see :mod:`jinef.image`); nothing reads the store or the
reference data. Each answering structure is made on first use from the mapped arrays, in milliseconds, and
shared by every thread of the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinef.common.config import RegistryLocation, RegistryNotFoundError
from jinef.common.messages import message
from jinef.image.folder import ImageError, ReadImage
from jinef.model import postcode as pc
from jinef.model.address import Address
from jinef.read.geo.locate import Location, locate
from jinef.read.registry.address_table import AddressSource, AddressTable
from jinef.read.registry.overlay import OverlaidJson, OverlaidSource, Overlay

__all__ = ["Registry", "RegistryNotFoundError"]

ANSWERING = ("table", "json", "geocoder", "reverse", "autocomplete")  # structures made on first use

if TYPE_CHECKING:
    from jinef.read.geo.basemap import Basemap
    from jinef.read.geo.reverse import ReverseGeocoder
    from jinef.read.geocode.autocomplete import Autocompleter
    from jinef.read.geocode.geocoder import Geocoder
    from jinef.read.registry.address_json import AddressJson


class Registry:
    """A national address registry opened for reading, from its read image."""

    def __init__(self, image: ReadImage) -> None:
        self.image = image
        self._lock = threading.Lock()
        # Changes committed after the image was compiled (a serving worker applies the feed here).
        self.overlay = Overlay(int(image.manifest.get("change_seq") or 0))

    @classmethod
    def open(cls, location: str | os.PathLike[str] | RegistryLocation | None = None) -> Registry:
        """Open the registry at ``location``: a SQLite file or a ``postgresql://`` URL (its image beside it, or
        ``JINEF_IMAGE_DIR``), or an image folder itself (default: ``JINEF_DB``, else ``./var/registry.sqlite``)."""
        if location is not None and not isinstance(location, RegistryLocation) and Path(location).is_dir():
            root = Path(location)
        else:
            root = RegistryLocation.of(location).image_root
        try:
            return cls(ReadImage.open(root))
        except ImageError as exc:
            raise RegistryNotFoundError(message("image.unusable", problem=exc.text)) from exc

    @property
    def generation(self) -> str:
        """The image generation being read (changes with every build, import or recompile)."""
        return self.image.generation

    @cached_property
    def table(self) -> AddressTable:
        """Postcode → address."""
        return AddressTable(self.image)

    def lookup(self, postcode: str) -> Address | None:
        """The unit for a postcode in any written form; None when unknown.

        Raises :class:`jinef.model.postcode.PostcodeError` for an input that breaks the rules.
        """
        return self.source.get(pc.to_int(postcode))

    def status(self, postcode: str) -> str | None:
        """'active', 'retired', or None for an unknown postcode (cheaper than a lookup)."""
        code = pc.to_int(postcode)
        changed = self.overlay.get(code)
        return changed.status if changed is not None else self.table.status(code)

    def lookup_many(self, postcodes: Sequence[str]) -> list[Address | None]:
        """Units for many canonical-or-not postcodes, in order (invalid inputs raise)."""
        return self.source.get_many([pc.to_int(p) for p in postcodes])

    @property
    def source(self) -> AddressSource:
        """Postcode → address as of now: the image's table, with the changes since it on top when there are any."""
        return OverlaidSource(self.table, self.overlay) if len(self.overlay) else self.table

    @property
    def unit_json(self) -> AddressJson | OverlaidJson:
        """Units' JSON answers as of now (see :attr:`source`)."""
        return OverlaidJson(self.json, self.overlay) if len(self.overlay) else self.json

    def apply_changes(self, changes: Sequence[dict[str, Any]]) -> int:
        """Apply change-feed records made after the image (see :class:`Overlay`); the last number applied."""
        return self.overlay.apply(changes)

    def locate(self, postcode: str) -> Location | None:
        """Point, geocode quality/source and Plus Code of a postcode; None when unknown (invalid raises)."""
        return locate(self, postcode)

    def addresses(self, active_only: bool = True) -> Iterator[Address]:
        """Every unit ordered by postcode (streamed)."""
        table = self.table
        for rows in table.iter_rows(active_only):
            for r in rows.tolist():
                a = table.address(r)
                if a is not None:
                    yield a

    def meta(self) -> dict[str, str]:
        """The registry's build metadata (as stored when the image was compiled)."""
        return dict(self.image.manifest.get("registry_meta") or {})

    @cached_property
    def geocoder(self) -> Geocoder:
        """Free text and structured addresses → postcodes."""
        from jinef.read.geocode.geocoder import Geocoder

        return Geocoder.from_image(self.image, self.table, self.overlay)

    @cached_property
    def reverse(self) -> ReverseGeocoder:
        """Points → buildings, postcodes, province and county."""
        from jinef.read.geo.reverse import ReverseGeocoder

        return ReverseGeocoder.from_image(self.image, self.overlay)

    @cached_property
    def autocomplete(self) -> Autocompleter:
        """Place names suggested while typing."""
        from jinef.read.geocode.autocomplete import Autocompleter

        return Autocompleter.from_image(self.image, self.overlay)

    @cached_property
    def json(self) -> AddressJson:
        """Units' JSON answers written straight from the table."""
        from jinef.read.registry.address_json import AddressJson

        return AddressJson(self.table)

    def basemap(self, level: str) -> Basemap:
        """The offline basemap of one level (``provinces`` or ``counties``)."""
        from jinef.read.geo.basemap import basemap_from_image

        return basemap_from_image(self.image, level)

    def warm(self, fault_pages: bool = True) -> None:
        """Make every answering structure now and read the image in, so no caller waits for either.

        ``fault_pages`` also maps every page of the image into this process (see :meth:`ReadImage.fault_in`):
        what a long-lived server worker wants, and what a benchmark needs to measure one.
        """
        self.image.advise_willneed()
        for name in ANSWERING:
            getattr(self, name)
        if fault_pages:
            self.image.fault_in()

    def built(self) -> dict[str, Any]:
        """Which answering structures this process has made so far (each is made on first use)."""
        return {name: name in self.__dict__ for name in ANSWERING}

    def close(self) -> None:
        """Nothing to release: the mappings go with the object."""

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
