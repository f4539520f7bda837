"""Both import reports (a mapping's tasks, a template's surveys or targets) say their
rejected rows alike: the counts, the reasons by kind and column, and each reject."""

from __future__ import annotations

from collections import Counter

from ledger.importer.records import RecordsReport
from ledger.importer.report import ImportReport, Reject
from ledger.importer.row import RowError

DIGEST = "0" * 64


def rejects() -> list[Reject]:
    empty = RowError("{column} 为空", column="责任单位", value="", kind="empty unit")
    malformed = RowError("{column} {value!r} 不是日期（{formats}）", column="发现时间",
                         value="昨天", kind="malformed date", formats="ISO 8601")
    return [Reject.of(3, empty, ["井盖缺失", None], {"责任单位": "from merged cell B2:B3"}),
            Reject.of(5, malformed, ["路灯不亮", "昨天"]),
            Reject.of(6, malformed, ["占道经营", "前天"])]


def test_both_reports_say_their_rejected_rows_alike() -> None:
    skipped = Counter({"blank row": 2})
    tasks = ImportReport("台账.xlsx", DIGEST, "台账.toml", "office",
                         rejects=rejects(), skipped=skipped)
    records = RecordsReport("测评.xlsx", DIGEST, "survey", rejects=rejects(), skipped=skipped)
    for report in (tasks, records):
        said = report.as_dict()
        assert said["rows_rejected"] == 3
        assert said["rows_skipped"] == {"blank row": 2}
        assert said["rejected_by_reason"] == {"empty unit (责任单位)": 1,
                                              "malformed date (发现时间)": 2}
        assert report.rejected_by_reason() == Counter(said["rejected_by_reason"])
        assert [r["row"] for r in said["rejects"]] == [3, 5, 6]
        assert said["rejects"][0]["filled"] == {"责任单位": "from merged cell B2:B3"}
        assert said["rejects"][1] == {"row": 5, "column": "发现时间", "value": "昨天",
                                      "reason": said["rejects"][1]["reason"]}
        assert "昨天" in said["rejects"][1]["reason"]
    assert tasks.as_dict()["rejects"] == records.as_dict()["rejects"]
