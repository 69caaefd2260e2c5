"""Forward geocoding: text → places (autocomplete here; the full geocoder is built separately)."""
