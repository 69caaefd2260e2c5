"""Jinef (جینف): an open national geocoded address file for Iran."""

from jinef.model.address import Address
from jinef.read.registry.registry import Registry

__all__ = ["Address", "Registry"]
__version__ = "0.1.0"
