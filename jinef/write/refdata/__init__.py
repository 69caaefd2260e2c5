"""Real reference data of Iran: divisions, boundaries, population, Tehran's neighbourhoods."""
