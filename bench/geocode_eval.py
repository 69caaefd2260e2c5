"""Geocoder evaluation: addresses drawn from a registry, written the ways people write them, geocoded back.

Run: ``.venv/bin/python bench/geocode_eval.py --db var/bench/registry-200000.sqlite --n 5000``
(builds the registry if missing). Reports, per noise kind, top-1 and top-5 postcode accuracy (or the
right match level where levels are missing), the share of confident (≥ 0.9) answers and how many of
them were wrong, and single-core throughput. ``--calibrate`` writes the confidence table the
geocoder uses (``jinef/read/geocode/data/calibration.json``) from this run's margins.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jinef.model.address import Address, floor_text  # noqa: E402
from jinef.model.digits import to_latin_digits, to_persian_digits  # noqa: E402
from jinef.read.geocode.geocoder import Candidate, Geocoder  # noqa: E402
from jinef.read.geocode.index import GeocodeIndex, unit_key  # noqa: E402
from jinef.read.registry.registry import Registry  # noqa: E402
from jinef.text.keys import match_key  # noqa: E402
from jinef.text.parser import parse_address, split_thoroughfare  # noqa: E402
from jinef.write.ingest.vocabulary import ORDINAL_WORDS  # noqa: E402

ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
LANDMARKS = ("جنب بانک ملی", "روبروی مسجد", "نرسیده به میدان", "بعد از نانوایی", "کنار داروخانه")
ABBREV = {"خیابان": "خ", "کوچه": "ک", "بلوار": "بل", "میدان": "م", "بن‌بست": "بن", "شهید": "ش"}
SLIPS = {"خ": "ح", "ک": "گ", "پ": "ژ"}
# Noise kinds where the text names the unit (accuracy = right postcode at top 1).
UNIT_KINDS = ("clean", "informal", "abbreviation", "no_admin", "swapped", "arabic_letters", "digits", "zwnj",
              "typo", "landmark", "number_words", "postcode", "no_neighbourhood", "mixed")
# Kinds with levels missing: the expected level is stated; accuracy = right level and right entity.
LEVEL_KINDS = ("no_unit", "no_plate", "locality_only")
CONFLICT_KIND = "postcode_conflict"
CALIBRATION = ROOT / "jinef" / "geocode" / "data" / "calibration.json"
EDGES = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0]


def parts(a: Address, rng: random.Random, admin: bool = True, nb: bool = True) -> list[str]:
    """The address as a list of parts, large to small (the way the certificate lists them)."""
    out: list[str] = []
    if admin:
        out += [f"استان {a.province}", f"شهرستان {a.county}"]
    out.append(f"{a.locality_type} {a.locality}" if admin or rng.random() < 0.5 else a.locality)
    if nb and a.neighbourhood:
        out.append(f"محله {a.neighbourhood}")
    if a.prev_thoroughfare:
        out.append(a.prev_thoroughfare)
    if a.last_thoroughfare:
        out.append(a.last_thoroughfare)
    out += unit_parts(a)
    return out


def unit_parts(a: Address) -> list[str]:
    """Plate, entrance, floor and unit parts."""
    out = []
    if a.plate:
        out.append(f"پلاک {a.plate}")
    if a.entrance:
        out.append(f"ورودی {a.entrance}")
    if a.floor is not None:
        out.append(f"طبقه {floor_text(a.floor)}")
    if a.unit:
        out.append(f"واحد {a.unit}")
    return out


def typo(word: str, rng: random.Random) -> str:
    """One random edit inside a word of five letters or more."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.random()
    letters = "ابپتجچحخدرزسشصطعفقکگلمنوهی"
    if op < 0.33:
        return word[:i] + word[i + 1 :]
    if op < 0.66:
        return word[:i] + rng.choice(letters) + word[i + 1 :]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def write(a: Address, kind: str, rng: random.Random, other: Address) -> str:
    """The address written with one kind of noise."""
    sep = "، "
    if kind == "clean":
        return a.standard_address
    if kind == "informal":
        return sep.join(parts(a, rng, admin=False))
    if kind == "no_admin":
        return sep.join(parts(a, rng, admin=False, nb=False))
    if kind == "no_neighbourhood":
        return sep.join(parts(a, rng, admin=True, nb=False))
    if kind == "abbreviation":
        text = sep.join(parts(a, rng, admin=False))
        for full, short in ABBREV.items():
            if rng.random() < 0.8:
                text = text.replace(full + " ", short + " ")
        text = text.replace("پلاک ", "پ ").replace("طبقه ", "ط ")
        if rng.random() < 0.3:
            for k, v in SLIPS.items():
                text = text.replace(f" {k} ", f" {v} ", 1)
        return text
    if kind == "swapped":
        p = parts(a, rng, admin=False)
        if a.prev_thoroughfare:
            i, j = p.index(a.prev_thoroughfare), p.index(a.last_thoroughfare)
            p[i], p[j] = p[j], p[i]
        return sep.join(p)
    if kind == "arabic_letters":
        return sep.join(parts(a, rng, admin=rng.random() < 0.5)).replace("ی", "ي").replace("ک", "ك")
    if kind == "digits":
        text = to_latin_digits(sep.join(parts(a, rng, admin=False)))
        return "".join(ARABIC_DIGITS[int(c)] if c.isdigit() and rng.random() < 0.5 else c for c in text)
    if kind == "zwnj":
        text = sep.join(parts(a, rng, admin=rng.random() < 0.5))
        if "\u200c" in text:  # «بن‌بست» → «بن بست» / «بنبست», «محمود‌آباد» → «محمودآباد»
            return "".join(rng.choice(("", " ")) if ch == "\u200c" else ch for ch in text)
        return text.replace("آباد", "\u200cآباد").replace("ها", "\u200cها").replace("می", "می\u200c")
    if kind == "typo":
        p = parts(a, rng, admin=False)
        cands = [i for i, x in enumerate(p) if any(len(w) >= 6 and not w.isdigit() for w in x.split()[1:])]
        if cands:
            i = rng.choice(cands)
            words = p[i].split()
            k = max(range(1, len(words)), key=lambda j: len(words[j]))
            words[k] = typo(words[k], rng)
            p[i] = " ".join(words)
        return sep.join(p)
    if kind == "landmark":
        p = parts(a, rng, admin=False)
        p.insert(len(p) - len(unit_parts(a)), rng.choice(LANDMARKS))
        return sep.join(p)
    if kind == "number_words":
        text = sep.join(parts(a, rng, admin=False))
        for th in (a.prev_thoroughfare, a.last_thoroughfare):
            if not th:
                continue
            typ, _, name = th.partition(" ")
            n = to_latin_digits(name)
            if n.isdigit() and int(n) < len(ORDINAL_WORDS):
                text = text.replace(th, f"{typ} {ORDINAL_WORDS[int(n)]}")
            elif name in ORDINAL_WORDS:
                text = text.replace(th, f"{typ} {to_persian_digits(str(ORDINAL_WORDS.index(name)))}")
        return text
    if kind == "postcode":
        return sep.join(parts(a, rng, admin=False)) + f" کدپستی {a.postcode}"
    if kind == CONFLICT_KIND:
        return sep.join(parts(a, rng, admin=False)) + f" کد پستی {other.postcode}"
    if kind == "mixed":
        text = write(a, rng.choice(("abbreviation", "swapped", "no_admin", "landmark")), rng, other)
        if rng.random() < 0.5:
            text = text.replace("ی", "ي")
        if rng.random() < 0.5:
            text = to_latin_digits(text)
        return text
    if kind == "no_unit":
        return "، ".join(p for p in parts(a, rng, admin=False) if not p.startswith(("طبقه", "واحد")))
    if kind == "no_plate":
        return "، ".join(p for p in parts(a, rng, admin=False)
                         if not p.startswith(("پلاک", "ورودی", "طبقه", "واحد")))
    if kind == "locality_only":
        return f"{a.locality_type} {a.locality}"
    raise ValueError(kind)


def expected_level(kind: str, multi: bool) -> str:
    """The match level a right answer has for an address written this way."""
    if kind == "no_unit":
        return "building" if multi else "unit"
    if kind == "no_plate":
        return "thoroughfare"
    if kind == "locality_only":
        return "locality"
    return "unit"


def is_right(c: Candidate | None, a: Address, level: str) -> bool:
    """Is the candidate the drawn address at the expected level?"""
    if c is None or c.level != level:
        return False
    if level == "unit":
        return c.postcode == a.postcode
    if level == "building":
        return c.building_id == a.building_id
    if level == "thoroughfare":
        return a.standard_address.startswith(c.address) and c.address.endswith(
            to_persian_digits(a.last_thoroughfare))
    return c.address.startswith(f"استان {a.province}، شهرستان {a.county}،") and c.address.endswith(
        f"{a.locality_type} {a.locality}")


def twins(ix: GeocodeIndex, a: Address, text: str, level: str) -> int:
    """How many registry entries of ``level`` fit every part ``text`` writes, with ``a``'s own values.

    An address written without its province and county («روستا قلعه رود، کوچه دوم، بن‌بست ۶، پلاک ۷») may fit
    several villages of one name: no geocoder can tell which was meant, and the right answer is a low
    confidence, not a guess. Counted by exact match keys over the index, independently of the scoring.
    """
    p = parse_address(text)
    if p.postcode == a.postcode:
        return 1  # its own postcode names it
    locs = ix.localities.of(match_key(a.locality)).tolist()
    if p.province or "استان" in text:
        locs = [x for x in locs if ix.loc_province_key[x] == match_key(a.province)]
    if p.county or "شهرستان" in text:
        locs = [x for x in locs if ix.loc_county_key[x] == match_key(a.county)]
    if level == "locality":
        return len(locs)

    def street(th: str) -> tuple[str, str]:
        t = split_thoroughfare(th)
        return match_key(t.type_word), match_key(t.name)

    last_type, last_name = street(a.last_thoroughfare)
    streets = [t for t in ix.thoroughfares.of_within(last_name, sorted(locs)) if ix.th_type_key(t) == last_type]
    with_prev = bool(a.prev_thoroughfare) and len(p.thoroughfares) >= 2
    prev = street(a.prev_thoroughfare) if with_prev else None
    nb = match_key(a.neighbourhood) if a.neighbourhood and "محله" in text else None

    def same_prev(t: int) -> bool:
        return prev is None or (t >= 0 and (ix.th_type_key(t), match_key(ix.th_names[ix.th_name_code[t]])) == prev)

    def same_nb(n: int) -> bool:
        return nb is None or (n >= 0 and match_key(ix.nb_name[n]) == nb)

    if level == "thoroughfare":
        return sum(1 for t in streets if same_prev(int(ix.th_prev[t])) and same_nb(int(ix.th_nb[t])))
    plate = ix.plate_code(a.plate)
    buildings = [b for t in streets for b in range(int(ix.th_b_off[t]), int(ix.th_b_off[t + 1]))
                 if int(ix.b_key[b]) & ((1 << 21) - 1) == plate and ix.unit_count(b) > 0
                 and same_prev(int(ix.b_prev[b])) and same_nb(int(ix.b_nb[b]))
                 and (not p.entrance or unit_key(ix.b_entrance(b)) == unit_key(a.entrance))]
    if level == "building":
        return len(buildings)
    units = [u for b in buildings for u in ix.units_of(b)
             if (p.unit is None or ix.label_keys[ix.u_label[u]] == unit_key(a.unit))
             and (p.floor is None or a.floor is None or int(ix.u_floor[u]) == a.floor)]
    return len(units)


def ensure_registry(db: Path, units: int) -> None:
    """Build the registry with `jinef build` when the file is missing."""
    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "jinef.cli.main", "build", "--units", str(units), "--db", str(db)],
                   check=True, cwd=ROOT)


def draw(reg: Registry, gc: Geocoder, n: int, rng: random.Random) -> list[tuple[Address, bool]]:
    """n random active units with whether their building has several units."""
    ix = gc.index
    active = ix.b_units  # every active unit row, once
    idx = sorted(rng.sample(range(len(active)), min(n, len(active))))
    rows = [int(active[i]) for i in idx]
    postcodes = [str(int(ix.u_postcode[u])) for u in rows]
    out = []
    for u, a in zip(rows, reg.lookup_many(postcodes), strict=True):
        if a is not None:
            out.append((a, ix.unit_count(ix.unit_building(u)) > 1))
    rng.shuffle(out)
    return out


def main() -> None:
    """Run the evaluation and print the report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=str(ROOT / "var/bench/registry-200000.sqlite"))
    ap.add_argument("--units", type=int, default=200_000, help="units when the registry must be built")
    ap.add_argument("--n", type=int, default=5000, help="addresses drawn (each written in every noise kind)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--calibrate", action="store_true", help="write the confidence table from this run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    db = Path(args.db)
    ensure_registry(db, args.units)
    rng = random.Random(args.seed)
    reg = Registry.open(db)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc = reg.geocoder
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index_stats = gc.index.stats()
    sample = draw(reg, gc, args.n, rng)
    kinds = (*UNIT_KINDS, *LEVEL_KINDS, CONFLICT_KIND)
    per_kind = max(1, len(sample) // len(kinds)) if len(sample) >= len(kinds) * 50 else len(sample)
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    calib: list[tuple[str, float, bool, bool]] = []
    texts: list[str] = []
    seconds = 0.0
    cpu_seconds = 0.0  # CPU time: on a shared, loaded machine wall time mostly measures the neighbours
    for k, kind in enumerate(kinds):
        chunk = sample[k * per_kind : (k + 1) * per_kind] if per_kind < len(sample) else sample
        for a, multi in chunk:
            other = sample[rng.randrange(len(sample))][0]
            text = write(a, kind, rng, other)
            texts.append(text)
            t0, c0 = time.perf_counter(), time.process_time()
            res = gc.geocode(text, limit=5)
            seconds += time.perf_counter() - t0
            cpu_seconds += time.process_time() - c0
            best = res.best
            level = expected_level(kind, multi)
            st = stats[kind]
            st["n"] += 1
            if kind == CONFLICT_KIND:
                right = best is not None and bool(best.conflicts or any(c.conflicts for c in res.candidates))
                st["flagged"] += right
                st["top1"] += best is not None and best.postcode == a.postcode
            else:
                right = is_right(best, a, level)
                st["top1"] += right
                st["top5"] += any(is_right(c, a, level) for c in res.candidates)
                st["level"] += best is not None and best.level == level
                if twins(gc.index, a, text, level) > 1:  # the text fits several entries: no answer can be sure
                    st["ambiguous"] += 1
                    st["ambiguous_confident"] += best is not None and best.confidence >= 0.9
                else:
                    st["clear"] += 1
                    st["clear_top1"] += right
            if best is not None:
                conf_right = right if kind != CONFLICT_KIND else best.postcode in (a.postcode, other.postcode)
                if best.confidence >= 0.9:
                    st["confident"] += 1
                    st["confident_wrong"] += not conf_right
                calib.append((best.level, best.margin, bool(best.conflicts), bool(conf_right)))
    load = open("/proc/loadavg").read().split()[:3]
    total = sum(int(s["n"]) for s in stats.values())
    report = {
        "db": str(db), "index": index_stats, "index_rss_mb": round((rss - rss0) / 1024, 1),
        "peak_rss_mb": round(rss / 1024, 1), "loadavg": " ".join(load), "cores": os.cpu_count(),
        "addresses": total, "per_core_per_s": round(total / seconds, 1),
        "per_cpu_second": round(total / max(cpu_seconds, 1e-9), 1),
        "kinds": {k: {m: (round(v / s["n"], 4) if m != "n" else int(v)) for m, v in s.items()}
                  for k, s in stats.items()},
    }
    unit_n = sum(stats[k]["n"] for k in UNIT_KINDS)
    conf = sum(s["confident"] for s in stats.values())
    report["unit_top1"] = round(sum(stats[k]["top1"] for k in UNIT_KINDS) / unit_n, 4)
    clear = sum(stats[k]["clear"] for k in UNIT_KINDS)
    report["unit_clear_top1"] = round(sum(stats[k]["clear_top1"] for k in UNIT_KINDS) / max(clear, 1), 4)
    report["unit_ambiguous_share"] = round(1 - clear / unit_n, 4)
    report["ambiguous_answered_confidently"] = int(sum(s["ambiguous_confident"] for s in stats.values()))
    report["confident_share"] = round(conf / total, 4)
    report["confident_wrong"] = round(sum(s["confident_wrong"] for s in stats.values()) / max(conf, 1), 4)
    if args.calibrate:
        write_calibration(calib)
        report["calibrated_from"] = len(calib)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report)


def print_report(r: dict) -> None:
    """The report as a table."""
    print(f"registry {r['db']}: {r['index']}")
    print(f"index RSS +{r['index_rss_mb']} MB (peak {r['peak_rss_mb']} MB); load average {r['loadavg']}; "
          f"{r['cores']} cores")
    print(f"{'kind':<20}{'n':>6}{'top1':>8}{'top5':>8}{'level':>8}{'conf≥.9':>9}{'wrong|conf':>11}"
          f"{'ambig':>8}{'top1|clear':>11}")
    for k, s in r["kinds"].items():
        n = s["n"]
        conf = s.get("confident", 0.0)
        wrong = s.get("confident_wrong", 0.0) / conf if conf else 0.0
        clear = s.get("clear", 0.0)
        clear_top1 = s.get("clear_top1", 0.0) / clear if clear else 0.0
        extra = f"  flagged {s.get('flagged', 0):.4f}" if k == CONFLICT_KIND else ""
        print(f"{k:<20}{n:>6}{s.get('top1', 0):>8.4f}{s.get('top5', 0):>8.4f}{s.get('level', 0):>8.4f}"
              f"{conf:>9.4f}{wrong:>11.4f}{s.get('ambiguous', 0):>8.4f}{clear_top1:>11.4f}{extra}")
    print(f"unit-naming top-1: {r['unit_top1']:.4f} of all; {r['unit_clear_top1']:.4f} of those the text fits one "
          f"unit ({r['unit_ambiguous_share']:.2%} fit several); confident share {r['confident_share']:.4f}, "
          f"wrong among confident {r['confident_wrong']:.4f}; ambiguous answered with confidence ≥ 0.9: "
          f"{r['ambiguous_answered_confidently']}")
    print(f"throughput: {r['per_core_per_s']} addresses/s on one core ({r['addresses']} addresses); "
          f"{r['per_cpu_second']} addresses per CPU second")


def write_calibration(rows: list[tuple[str, float, bool, bool]]) -> None:
    """Per level and margin bin, the share right, pooled to rise with the margin; conservative at the top."""
    levels: dict[str, list[float]] = {}
    by_level: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for level, margin, conflict, right in rows:
        if not conflict and margin >= 0:
            by_level[level].append((margin, right))
    import bisect

    for level, pts in by_level.items():
        bins = [[0, 0] for _ in range(len(EDGES) + 1)]
        for m, ok in pts:
            b = bisect.bisect_right(EDGES, m)
            bins[b][0] += ok
            bins[b][1] += 1
        # Laplace-style prior keeps thin bins from claiming certainty; then a running max makes it monotone
        # only where the data support it (pool adjacent violators).
        acc = [(r + 1) / (n + 2) if n else None for r, n in bins]
        vals = []
        last = 0.0
        for v in acc:
            v = last if v is None else v
            vals.append(v)
            last = v
        vals = _pava(vals, [max(n, 1) for _, n in bins])
        levels[level] = [round(v, 4) for v in vals]
    CALIBRATION.parent.mkdir(parents=True, exist_ok=True)
    CALIBRATION.write_text(json.dumps({"edges": EDGES, "levels": levels}, indent=1) + "\n", encoding="utf-8")


def _pava(values: list[float], weights: list[int]) -> list[float]:
    """Pool adjacent violators: the closest non-decreasing sequence."""
    blocks: list[list[float]] = []
    for v, w in zip(values, weights, strict=True):
        blocks.append([v * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w2, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w2
            blocks[-1][2] += c
    out: list[float] = []
    for s, w, c in blocks:
        out += [s / w] * int(c)
    return out


if __name__ == "__main__":
    main()
