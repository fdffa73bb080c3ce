"""`bargaining report …`, `import …` and `export …` end to end: real subprocesses on a SQLite file,
the XLSX with native charts, the PDF with embedded CJK fonts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bargaining.db import open_database

from .dataset import build

ROOT = Path(__file__).absolute().parents[2]
# The commands as services/cli.py registers them (added here if it does not yet).
MAIN = (
    "import sys, services.cli as c\n"
    "from services.reports.cli import register as reports\n"
    "from services.exchange.cli import register as exchange\n"
    "names = {g.name for g in c.app.registered_groups}\n"
    "'report' in names or reports(c.app)\n"
    "'import' in names or exchange(c.app)\n"
    "c.main(sys.argv[1:])\n"
)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path):
    work = tmp_path_factory.mktemp("cli")
    database = work / "db.sqlite3"
    shutil.copy(sqlite_template, database)
    db = open_database(f"sqlite:///{database}")
    numbers = build(db).numbers
    db.dispose()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BARGAINING_")},
        "BARGAINING_DATABASE_URL": f"sqlite:///{database}",
        "PYTHONPATH": str(ROOT),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", MAIN, *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run, work, numbers


def test_report_annual_json_xlsx_pdf_and_cases(cli):
    run, work, numbers = cli
    done = run("report", "annual", "--region", "city", "--year", "2025", "--format", "json", "--as", "admin")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    values = {f["key"]: f["value"] for f in data["figures"]}
    assert values["signed_enterprise"] == 5 and values["renewal_rate"] == "50.0"
    assert (
        all(f["definition"] for f in data["figures"])
        and [r["label"] for r in data["by_year"]][-1] == "2025年"
    )

    done = run("report", "annual", "-r", "city", "-y", "2025", "--format", "xlsx", "--out", "r.xlsx")
    assert done.returncode == 0 and "已生成" in done.stdout, done.stderr
    from openpyxl import load_workbook

    workbook = load_workbook(work / "r.xlsx")
    assert workbook.sheetnames == ["统计表", "按年度", "按区域", "按行业"]
    assert len(workbook["按年度"]._charts) == 3 and len(workbook["按区域"]._charts) == 1
    labels = [row[1] for row in workbook["统计表"].iter_rows(min_row=6, values_only=True) if row[1]]
    assert "续签率" in labels and "要约完成率" in labels and len(labels) == len(data["figures"])

    done = run("report", "annual", "-r", "street", "-y", "2025", "--format", "pdf", "--out", "r.pdf")
    assert done.returncode == 0, done.stderr
    pdf = (work / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(work / "r.pdf"), "-"], capture_output=True, text=True).stdout
        assert "测试街道总工会2025年度工资集体协商工作统计" in text
        assert (
            "续签率" in text and "审查意见书完成率" in text and "按下级工会组织" not in text
        )  # a street has none
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(work / "r.pdf")], capture_output=True, text=True).stdout
        assert "Noto-Sans-CJK-SC" in fonts

    done = run(
        "report", "cases", "-r", "city", "-y", "2025", "--figure", "disclosure_rate", "--part", "missing"
    )
    assert done.returncode == 0, done.stderr
    assert numbers["E2"] in done.stdout and numbers["E1"] not in done.stdout and "共 5 件" in done.stdout
    done = run("report", "annual", "-r", "nowhere", "-y", "2025")
    assert done.returncode == 1 and done.stderr.startswith("错误：找不到工会组织 nowhere")
    assert run("report", "annual", "-r", "city", "-y", "2025", "--format", "doc").returncode == 1


def test_import_dry_run_and_export_commands(cli):
    run, work, _numbers = cli
    from bargaining.rules.uscc import complete_credit_code

    good = complete_credit_code("91320282MA2000001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    (work / "e.csv").write_text(
        "统一社会信用代码,企业名称,所属工会代码,职工人数\n"
        f"{good},新企业有限公司,street,12\n{bad},坏代码有限公司,street,5\n{good},重复有限公司,street,5\n",
        encoding="gb18030",
    )
    done = run("import", "enterprises", "e.csv", "--dry-run", "--errors", "rejected.csv")
    assert done.returncode == 1
    assert "第3行“统一社会信用代码”" in done.stdout and "校验码应为" in done.stdout
    assert "第4行“统一社会信用代码”" in done.stdout and "与第2行重复" in done.stdout
    assert (
        "试运行" in done.stderr and (work / "rejected.csv").read_text(encoding="utf-8-sig").count("\n") == 3
    )
    done = run("import", "enterprises", "e.csv", "--valid-only", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 1
    done = run("export", "enterprises", "--out", "all.csv", "--region", "street")
    assert done.returncode == 0 and "已导出企业 10 行" in done.stdout, done.stdout + done.stderr
    assert (work / "all.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    done = run("import", "columns", "cases")
    assert "签字日期（必填）" in done.stdout and "协商编号：导出时填写，导入时忽略" in done.stdout
