"""What every layer may use: locations and settings, file permissions, on-disk cache helpers, group commit and
file locks for the service databases, CSV safety. Imports nothing else of Jinef."""
