"""Jinef (جینف): an open national geocoded address file for Iran."""

__version__ = "0.1.0"
