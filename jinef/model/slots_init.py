"""Fast constructors for frozen, slotted dataclasses that hot paths build by the thousand.

A frozen dataclass's ``__init__`` sets every field through ``object.__setattr__`` (to get past its
own ``__setattr__`` guard), several times the cost of a plain slot store. A constructor made here
stores each value straight into its slot through the slot's descriptor, with the calls written out
by code generation from the class's own field list (a loop over the fields cost a quarter more).
The object is as frozen afterwards as one made by ``__init__``; no defaults or ``__post_init__`` run,
so every field is passed, in declaration order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def slots_constructor(cls: type[T]) -> Callable[..., T]:
    """A function ``make(*values)`` building ``cls`` from all its field values, in field order."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    params = ", ".join(f"v{i}" for i in range(len(names)))
    body = "".join(f"    s{i}(o, v{i})\n" for i in range(len(names)))
    source = f"def make({params}):\n    o = new(cls)\n{body}    return o\n"
    namespace: dict[str, Any] = {f"s{i}": cls.__dict__[name].__set__ for i, name in enumerate(names)}
    namespace.update(new=object.__new__, cls=cls)
    exec(source, namespace)
    make: Callable[..., T] = namespace["make"]
    make.__doc__ = f"A {cls.__name__} from all its field values, in field order (no defaults applied)."
    return make
