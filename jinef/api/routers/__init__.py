"""HTTP routers. Each module exposes ``router``; :func:`jinef.api.app.create_app` includes :data:`DEFAULT_ROUTERS`.

Geocode, reverse and match endpoints (issues 3, 4, 6) are added as further modules here.
"""
