"""The HTTP adapter: FastAPI routes (REST v1, GNAF envelopes, the match hub) and a fast ASGI lane over the same code."""
