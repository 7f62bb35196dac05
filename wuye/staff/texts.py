"""How a stored appraisal breakdown reads in words: the raw numbers of each line ("17 of 20 steps on time") and the
citation of a 服务之星. Shared by the pages, the API and the nomination service (which writes the citation in the
installation's language)."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wuye.workorders.choices import Step

from .choices import Component


def component_label(code: str) -> str:
    return str(Component(code).label) if code in Component.values else code


def _steps(per_step: dict) -> str:
    parts = [
        _("%(step)s %(on_time)d/%(total)d") % {"step": Step(step).label, "on_time": counts[0], "total": counts[1]}
        for step, counts in per_step.items()
    ]
    return ", ".join(parts)


def raw_text(line: dict) -> str:
    """The raw numbers behind one line of the breakdown, in words."""
    raw = line.get("raw") or {}
    code = line.get("code")
    if line.get("normalised") is None:
        return _("No data this month")
    if code == Component.SLA_ON_TIME:
        text = _("%(on_time)d of %(total)d steps on time") % raw
        return f"{text} ({_steps(raw.get('steps') or {})})" if raw.get("steps") else text
    if code == Component.RATING:
        return ngettext(
            "average %(average)s from %(count)d rating", "average %(average)s from %(count)d ratings", raw["count"]
        ) % {"average": raw["average"], "count": raw["count"]}
    if code == Component.VISIT:
        return _("%(satisfied)d of %(total)d satisfied at the return visit") % raw
    if code == Component.REOPEN:
        return _("%(reopened)d reopened of %(resolved)d finished") % raw
    if code == Component.SPOT_CHECK:
        return ngettext(
            "average %(average)s over %(count)d spot check",
            "average %(average)s over %(count)d spot checks",
            raw["count"],
        ) % {"average": raw["average"], "count": raw["count"]}
    if code == Component.PATROL:
        return _("%(complete)d of %(total)d patrol rounds complete") % raw
    if code == Component.PLANNED_WORK:
        tasks, inspections = raw.get("tasks") or [0, 0], raw.get("inspections") or [0, 0]
        if not inspections[1]:
            return _("%(done)d of %(total)d tasks done") % {"done": tasks[0], "total": tasks[1]}
        if not tasks[1]:
            return _("%(done)d of %(total)d inspections done") % {"done": inspections[0], "total": inspections[1]}
        return _("%(done)d of %(total)d done (tasks %(tasks)s, inspections %(inspections)s)") % {
            "done": raw["done"],
            "total": raw["total"],
            "tasks": f"{tasks[0]}/{tasks[1]}",
            "inspections": f"{inspections[0]}/{inspections[1]}",
        }
    if code == Component.COMPLAINTS:
        if not raw.get("count"):
            return _("no complaint attributed (%(resolved)d orders finished)") % raw
        return ngettext(
            "%(count)d complaint attributed (%(orders)s), %(penalty)d points each",
            "%(count)d complaints attributed (%(orders)s), %(penalty)d points each",
            raw["count"],
        ) % {"count": raw["count"], "orders": ", ".join(raw.get("orders") or []), "penalty": raw.get("penalty", 0)}
    return ""


def citation(*, score, components: list[dict]) -> str:
    """Why someone is 服务之星: the score and the two lines that contributed most, in words."""
    counted = sorted(
        (line for line in components if line.get("counted")), key=lambda line: -float(line["contribution"])
    )
    reasons = "; ".join(f"{component_label(line['code'])}: {raw_text(line)}" for line in counted[:2])
    return (_("Score %(score)s. %(reasons)s") % {"score": score, "reasons": reasons})[:300]
