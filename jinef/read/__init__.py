"""The read side: everything that answers from the compiled read image (:mod:`jinef.image`) — lookups and unit JSON
(:mod:`jinef.read.registry`), the geocoder and autocomplete (:mod:`jinef.read.geocode`), reverse geocoding and
locations (:mod:`jinef.read.geo`) — and the verification hub (:mod:`jinef.read.verify`). Nothing here imports the
write side (:mod:`jinef.write`); an import-linter contract in ``make lint`` keeps it so."""
