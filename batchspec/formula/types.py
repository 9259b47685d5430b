"""The value types of the autoscale formula language (reference §2).

``doubleVecList`` is not a value type: it is a parameter kind (a comma-separated mix of doubles and doubleVecs that
is flattened into one doubleVec), modelled by ``Param.is_list`` in builtins.py.
"""

from __future__ import annotations

import enum


class Type(enum.Enum):
    DOUBLE = "double"
    DOUBLE_VEC = "doubleVec"
    STRING = "string"
    TIMESTAMP = "timestamp"
    TIMEINTERVAL = "timeinterval"
    # the value of $NodeDeallocationOption: one of the bare keywords requeue, terminate, taskcompletion, retaineddata
    DEALLOCATION_OPTION = "deallocation option"
    # the result of stop(): no value at all
    NONE = "no value"
    # not known statically (after an earlier error, or a ternary whose branches differ); accepted everywhere
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


DOUBLE = Type.DOUBLE
DOUBLE_VEC = Type.DOUBLE_VEC
STRING = Type.STRING
TIMESTAMP = Type.TIMESTAMP
TIMEINTERVAL = Type.TIMEINTERVAL
DEALLOCATION_OPTION = Type.DEALLOCATION_OPTION
NONE = Type.NONE
UNKNOWN = Type.UNKNOWN


def describe_types(types: frozenset[Type] | set[Type] | tuple[Type, ...]) -> str:
    """``double, timestamp or timeinterval`` in a fixed order (never iterate a set for a message)."""
    order = [t for t in Type if t in types]
    names = [t.value for t in order]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def article(type_name: str) -> str:
    return ("an " if type_name[:1] in "aeiou" else "a ") + type_name
