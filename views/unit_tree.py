"""The tree of units as a member walks it to report (报到) or to report to a community (双报到).

Walking down costs a tap a level, so the walk is kept short: a level offers at once every
unit below it that one can report to, when they fit on one page of buttons; otherwise it
offers the units just below it that lead to some (those one can report to are picked, the
others opened), and a level with only one of those to open is passed through, as there is
nothing to choose there. The walk is the same every time, so Back is found by walking down
again from the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.org import OrgUnit, UnitKind, unit_display_name
from views.buttons import CHOICES_PAGE

TOP = 0  # the level above the units that have no parent


@dataclass(frozen=True)
class Level:
    """What one step of the walk shows: the units offered below `unit_id`."""

    unit_id: int  # TOP, or the unit whose units are offered
    options: tuple[OrgUnit, ...]
    flat: bool  # the units to report to at every depth below, not only the next


class UnitTree:
    def __init__(self, tree: Sequence[OrgUnit], reportable: Sequence[UnitKind]) -> None:
        """`tree`: every unit, parents before children (models.org.list_tree)."""
        self.units = {unit.id: unit for unit in tree}
        self.reportable = tuple(reportable)
        self._children: dict[int, list[OrgUnit]] = {}
        for unit in tree:
            self._children.setdefault(unit.parent_id or TOP, []).append(unit)
        self._below: dict[int, list[OrgUnit]] = {}

    def takes_reports(self, unit: OrgUnit) -> bool:
        return unit.kind in self.reportable

    def below(self, unit_id: int) -> list[OrgUnit]:
        """The units one can report to anywhere below this one (not itself), in tree order."""
        if unit_id not in self._below:
            found: list[OrgUnit] = []
            for child in self._children.get(unit_id, []):
                if self.takes_reports(child):
                    found.append(child)
                found.extend(self.below(child.id))
            self._below[unit_id] = found
        return self._below[unit_id]

    def level(self, unit_id: int) -> Level:
        """What a press on this unit (TOP: the first screen) shows."""
        while True:
            everything = self.below(unit_id)
            if len(everything) <= CHOICES_PAGE:
                return Level(unit_id, tuple(everything), flat=True)
            options = [
                child
                for child in self._children.get(unit_id, [])
                if self.takes_reports(child) or self.below(child.id)
            ]
            if len(options) == 1 and not self.takes_reports(options[0]):
                unit_id = options[0].id  # nothing to choose here: one level down
                continue
            return Level(unit_id, tuple(options), flat=False)

    def back_of(self, target: int) -> int | None:
        """The level that leads to `target` (a unit offered, or the unit of a level shown)
        on the way down from the top: where Back goes. None for the first screen, and for
        a unit the way down does not reach."""
        level = self.level(TOP)
        while level.unit_id != target:
            if any(option.id == target for option in level.options):
                return level.unit_id
            step = next((o for o in level.options if self._leads_to(o.id, target)), None)
            if step is None:
                return None
            deeper = self.level(step.id)
            if deeper.unit_id == target:
                return level.unit_id
            level = deeper
        return None

    def _leads_to(self, unit_id: int, target: int) -> bool:
        """Whether `target` is this unit or below it."""
        current: int | None = target
        while current:
            if current == unit_id:
                return True
            current = self.units[current].parent_id if current in self.units else None
        return False

    def labels(self, level: Level, language: str) -> list[str]:
        """The options' names; a name that more than one option has (groups of different
        branches may share one) says which unit each is in."""
        names = [unit_display_name(option, language) for option in level.options]
        labels = []
        for name, option in zip(names, level.options, strict=True):
            parent = self.units.get(option.parent_id or TOP)
            if names.count(name) > 1 and parent is not None:
                name = f"{name} · {unit_display_name(parent, language)}"
            labels.append(name)
        return labels
