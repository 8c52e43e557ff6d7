"""Cards: what a component is, which paper it follows, and where it deliberately differs."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Card:
    """Citation and fidelity statement of a generator, metric or dataset.

    ``faithful`` lists what follows the paper/reference code exactly; ``adapted`` every deliberate
    difference (with the reason). ``citation_key`` is shown next to the display name in tables.
    """

    title: str
    authors: str = ""
    year: int | None = None
    venue: str = ""
    citation_key: str = ""
    url: str = ""
    faithful: tuple[str, ...] = field(default_factory=tuple)
    adapted: tuple[str, ...] = field(default_factory=tuple)
    licence: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def problems(self) -> list[str]:
        """Reasons this card is incomplete (used by the conformance suite)."""
        out = []
        if not self.title:
            out.append("card.title is empty")
        if self.year is not None and not (1900 < self.year < 2100):
            out.append(f"card.year {self.year!r} is not a plausible year")
        return out
