"""The planner's claims on the national lattice of blocks: which cells are taken, and handing out free ones.

A cell may go to a county's city or village only if the whole cell lies inside the county's polygon and
its province's, with a margin (a vectorised distance test on the cells' centres), and only if no other area
has it. One process makes every claim, in plan order, so the claims are the same for a seed whatever the
number of workers. Blocks inside the polygons by construction are what keeps every building inside.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence

import numpy as np

from jinef.write.ingest import lattice
from jinef.write.ingest.comb import NoRoomError
from jinef.write.ingest.placement import Region

MARGIN_DEG = 0.0001  # about 10 m more between a block and a border
VILLAGE_SPAN = 25  # a village's blocks come from the 5 x 5 cells around its point: the first 25 offsets
# A cell whose centre is this far from both borders has all 25 cells around it inside.
VILLAGE_REACH = 5 * lattice.CELL_REACH_DEG + MARGIN_DEG
VILLAGE_ROUNDS = 8  # batches of random points tried for one rural district before searching cell by cell


class BlockClaims:
    """Cells of the lattice taken so far, and claims of free cells inside a county."""

    def __init__(self) -> None:
        self._bits: np.ndarray | None = None
        self.claimed = 0

    @property
    def bits(self) -> np.ndarray:
        """One bit per lattice cell (8 MB), made on first use (after a build's workers have forked)."""
        if self._bits is None:
            self._bits = np.zeros(lattice.N_CELLS // 8, dtype=np.uint8)
        return self._bits

    def is_taken(self, keys: np.ndarray) -> np.ndarray:
        """Which of these cells are taken."""
        return ((self.bits[keys >> 3] >> (keys & 7).astype(np.uint8)) & 1).astype(bool)

    def _take(self, keys: np.ndarray) -> None:
        np.bitwise_or.at(self.bits, keys >> 3, (1 << (keys & 7)).astype(np.uint8))

    def near(self, region: Region, lon: float, lat: float, n: int) -> list[int]:
        """Claim up to ``n`` free cells inside the region, nearest to (lon, lat) first; fewer when it is full."""
        c0, r0 = lattice.cell_of(lon, lat)
        c_lon, c_lat = lattice.centre(lattice.NCOLS * r0 + c0)
        cell_reach = lattice.CELL_REACH_DEG + MARGIN_DEG
        dc, dr = lattice.OFFSETS
        got: list[int] = []
        start, size = 0, max(64, 2 * n)
        while len(got) < n and start < len(dc):
            stop = min(len(dc), start + size)
            cols, rows = c0 + dc[start:stop], r0 + dr[start:stop]
            on_map = (cols >= 0) & (cols < lattice.NCOLS) & (rows >= 0) & (rows < lattice.NROWS)
            keys = lattice.keys_of(cols[on_map], rows[on_map])
            keys = keys[~self.is_taken(keys)]
            if len(keys):
                # One test for the whole batch when the disc that holds it is clear of the borders (a city
                # away from them); else one per cell.
                reach = float(np.hypot(dc[stop - 1], dr[stop - 1])) * max(lattice.DLON, lattice.DLAT)
                if not region.clear_inside(np.array([c_lon]), np.array([c_lat]), reach + cell_reach)[0]:
                    lo, la = lattice.centres(keys)
                    keys = keys[region.clear_inside(lo, la, cell_reach)]
                keys = keys[: n - len(got)]
                self._take(keys)
                got.extend(keys.tolist())
            start, size = stop, size * 2
        self.claimed += len(got)
        return got

    def villages(self, region: Region, needs: Sequence[int], rng: random.Random) -> list[list[int]]:
        """Claim ``needs[i]`` cells for village i: free cells next to a random point of the region, off its borders."""
        gen = np.random.default_rng(rng.getrandbits(64))
        dc, dr = lattice.OFFSETS
        span = dr[:VILLAGE_SPAN] * lattice.NCOLS + dc[:VILLAGE_SPAN]
        spots: deque[int] = deque()
        rounds = 0
        out: list[list[int]] = []
        for need in needs:
            cells: list[int] = []
            while not cells and (spots or rounds < VILLAGE_ROUNDS):
                if not spots:
                    rounds += 1
                    spots.extend(self._spots(region, gen, 2 * len(needs) + 8))
                    continue
                block = spots.popleft() + span
                free = block[~self.is_taken(block)]
                if len(free) >= need:
                    self._take(free[:need])
                    cells = free[:need].tolist()
            if not cells:  # a county too narrow or too full for 5 x 5 cells: search cell by cell
                lon, lat = region.random_point(rng)
                cells = self.near(region, lon, lat, need)
                self.claimed -= len(cells)
                if not cells:
                    raise NoRoomError("no free block left in the county for a village")
            self.claimed += len(cells)
            out.append(cells)
        return out

    @staticmethod
    def _spots(region: Region, gen: np.random.Generator, n: int) -> list[int]:
        """Cells at uniformly random places of the region whose 5 x 5 surroundings are inside it."""
        minx, miny, maxx, maxy = region.bounds
        cols = ((gen.uniform(minx, maxx, n) - lattice.LON0) // lattice.DLON).astype(np.int64)
        rows = ((gen.uniform(miny, maxy, n) - lattice.LAT0) // lattice.DLAT).astype(np.int64)
        keys = lattice.keys_of(cols, rows)
        lon, lat = lattice.centres(keys)
        return [int(k) for k in keys[region.clear_inside(lon, lat, VILLAGE_REACH)]]
