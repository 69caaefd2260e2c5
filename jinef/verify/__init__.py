"""Address verification hub («احراز نشانی» and Shahkar-style matching) as a typed library."""
