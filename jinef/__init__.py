"""Jinef (جینف): an open national geocoded address file for Iran."""

from jinef.registry.model import Address
from jinef.registry.registry import Registry

__all__ = ["Address", "Registry"]
__version__ = "0.1.0"
