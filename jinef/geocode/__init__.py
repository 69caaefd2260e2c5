"""Geocoding: free-text and structured addresses to registry candidates (index, geocoder, calibration)."""
