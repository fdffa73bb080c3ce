"""``bargaining audit …`` end to end on SQLite: create → freeze → seed → draw → approve (another
user) → export the record → replay it offline (and a tampered copy) → sweep → report."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bargaining.db import Database
from services.audits import cli as audit_cli
from tests.audits.support import TODAY, build_audit_world


def _app(db: Database, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(audit_cli, "_db", lambda: db)
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """bargaining"""

    audit_cli.register(app)  # the line services/cli.py gets
    return app


def test_cli_campaign_replay_and_report(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    build_audit_world(db)
    app = _app(db, monkeypatch)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["audit", *args])
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    start = TODAY + timedelta(days=400)  # the CLI runs on today's clock
    out = run(
        "campaign", "create",
        "--title", "命令行专项抽查",
        "--legal-basis", "《浙江省工会劳动法律监督条例》第九条",
        "--org", "wx",
        "--start", start.isoformat(),
        "--fieldwork-start", start.isoformat(),
        "--fieldwork-end", (start + timedelta(days=30)).isoformat(),
        "--report-due", (start + timedelta(days=45)).isoformat(),
        "--strata", "region,sector",
        "--method", "fixed",
        "--per-stratum", "2",
        *[a for n in range(4) for a in ("--inspector", f"aud{n}")],
        "--as", "lead",
    )  # fmt: skip
    number = out.split("专项抽查 ")[1].split("：")[0]
    run("campaign", "freeze", number, "--as", "lead")
    run(
        "campaign",
        "seed",
        number,
        "--source",
        "ceremony",
        "--entropy",
        "3 5 1 6 2",
        "--provenance",
        "摇号会议记录第1号",
        "--as",
        "lead",
    )
    run("campaign", "draw", number, "--as", "lead")
    assert "双人复核" in str(
        runner.invoke(app, ["audit", "campaign", "approve", number, "--as", "lead"]).exception
    )
    run("campaign", "approve", number, "--as", "admin")
    shown = run("campaign", "show", number, "--as", "lead")
    assert "摇号会议记录第1号" in shown and "样本：" in shown
    detail = json.loads(run("campaign", "show", number, "--json", "--as", "lead"))
    assert len(detail["sample"]) == 8  # 2 per stratum × (2 streets × 2 sectors)

    record = tmp_path / "record.json"
    run("export-record", number, "--out", str(record), "--as", "lead")
    replayed = run("replay", "--record", str(record))
    assert "复算一致" in replayed and "✗" not in replayed
    assert "复算一致" in run("replay", number, "--as", "lead")
    doc = json.loads(record.read_text(encoding="utf-8"))
    doc["seed"]["entropy"] = "3 5 1 6 3"  # someone "corrects" the ceremony's numbers
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    bad = run("replay", "--record", str(tampered), code=1)
    assert "复算不一致" in bad and "[✗] 随机种子" in bad

    swept = json.loads(run("sweep", "--now", f"{start.isoformat()}T12:00:00+08:00", "--json"))
    assert swept["started"] == 1
    out_file = tmp_path / "report.xlsx"
    assert "已生成报告" in run("report", number, "--format", "xlsx", "--out", str(out_file), "--as", "lead")
    assert out_file.read_bytes().startswith(b"PK")
    listed = run("case", "list", number, "--as", "lead")
    assert listed.count("已列入抽查") == 8
    assert "wage-agreement 第1版" in run("checklist", "list")
