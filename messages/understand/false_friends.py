"""Words that look like a sign or a topic but mean something else here, blanked before reading:
"the packet was confusing" is no confusion, "thank you nurses" no nursing, "bleeding nuisance"
no bleeding, "sick of this rain" no sickness, "driving test" no driving."""

from __future__ import annotations

from collections.abc import Sequence

from messages.understand.red_flags import SWEARING

_FALSE_FRIENDS = frozenset({"confusing", "nurses", "nurse", "nursery"})


def false_friends_masked(toks: Sequence[str]) -> tuple[str, ...]:
    """The tokens with those words blanked ("")."""
    return tuple(
        ""
        if t in _FALSE_FRIENDS
        or (
            t in ("bleeding", "bleedin", "bloody") and i + 1 < len(toks) and toks[i + 1] in SWEARING
        )
        or (t in ("bleeds", "bleeding") and i and toks[i - 1] == "heart")
        # "sick of this rain", "sick to death of", "driving test": no sickness, no driving
        or (t == "sick" and toks[i + 1 : i + 2] in (("of",), ("to",)))
        or (t == "driving" and toks[i + 1 : i + 2] in (("test",), ("lesson",), ("lessons",)))
        # "should I wear a mask": no weariness
        or (t == "wear" and toks[i + 1 : i + 2] in (("mask",), ("a",), ("gloves",), ("masks",)))
        # "missing my wife": no missed dose
        or (t == "missing" and toks[i + 1 : i + 2] in (("my",), ("our",), ("him",), ("her",),
                                                        ("them",), ("home",), ("you",)))
        or (
            t in ("confused", "confuse")
            and i + 1 < len(toks)
            and toks[i + 1]
            in ("by", "about", "with", "as", "what", "how", "which", "whether", "over", "me", "us",
                "him", "her", "them")
        )
        else t
        for i, t in enumerate(toks)
    )
