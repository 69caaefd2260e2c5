"""The production PostgreSQL engine (psycopg 3): COPY bulk loads, atomic schema swaps."""
