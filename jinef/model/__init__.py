"""The address model and the postcode rules: pure, and below everything else (imports only :mod:`jinef.common`)."""
