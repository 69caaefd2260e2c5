"""Forward geocoding: free-text and structured addresses to registry candidates, and autocomplete."""
