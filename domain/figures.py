"""The figure catalogue: every figure of a unit's month the evaluation may score, with its
Chinese and English labels, its nature and which way is better. How each is computed from
the ledger's events is the read side's business (``projections/metrics.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

COUNT, RATE, MEAN, MEDIAN = "count", "rate", "mean", "median"


@dataclass(frozen=True)
class Figure:
    """A figure of a unit's month: its name, labels and nature, and which way is better."""

    name: str
    zh: str
    en: str
    nature: str  # count | rate | mean | median
    higher_is_better: bool = False

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


FIGURES: dict[str, Figure] = {f.name: f for f in [
    Figure("assigned", "交办任务", "tasks assigned", COUNT),
    Figure("complaints", "群众反映", "public complaints", COUNT),
    Figure("media", "媒体曝光", "media exposures", COUNT),
    Figure("unannounced", "上级暗访发现", "unannounced-check findings", COUNT),
    Figure("due", "到期整改", "cycles due", COUNT),
    Figure("on_time", "按期整改", "rectified on time", COUNT, True),
    Figure("late", "逾期整改", "due, not rectified on time", COUNT),
    Figure("on_time_rate", "按期整改率", "on-time rectification rate", RATE, True),
    Figure("reinspections", "复查", "re-inspections", COUNT),
    Figure("rework", "返工", "failed re-inspections (rework)", COUNT),
    Figure("rework_rate", "返工率", "rework rate", RATE),
    Figure("verified", "整改到位", "cycles verified", COUNT, True),
    Figure("mean_days", "平均整改天数", "mean days to rectify", MEAN),
    Figure("overdue_open", "超期未整改", "overdue open at month end", COUNT),
    Figure("recurrences", "反弹", "recurrences", COUNT),
    Figure("closed_before", "前期销号", "tasks closed in the months before", COUNT),
    Figure("recurrence_rate", "复发率", "recurrence rate", RATE),
    Figure("inspections", "巡查", "inspections", COUNT, True),
    Figure("required_inspections", "应巡查", "inspections required", COUNT),
    Figure("inspection_coverage", "巡查覆盖率", "inspection coverage", RATE, True),
    Figure("escalated", "督办", "escalations (督办)", COUNT),
    Figure("complaints_acknowledged", "群众反映签收", "complaints acknowledged", COUNT),
    Figure("complaint_response_hours", "群众反映响应(小时,中位数)",
           "complaint response (median hours)", MEDIAN),
    Figure("awareness", "知晓率", "public awareness (survey)", RATE, True),
    Figure("participation", "参与率", "public participation (survey)", RATE, True),
    Figure("satisfaction", "满意度", "public satisfaction (survey)", RATE, True),
    Figure("surveyed", "测评样本", "people surveyed", COUNT),
]}

Number = int | float | Fraction
