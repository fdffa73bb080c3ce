"""The `bargaining` command end to end: real subprocesses (`python -m services.cli`) on a temporary
SQLite file named by BARGAINING_DATABASE_URL.

Expected due dates are worked out by hand from the rules (民法典 Arts 201-203) and the 2025 holiday
notice: National Day 10-1..10-8 off, 9-28 (Sun) and 10-11 (Sat) make-up working days.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bargaining.rules.uscc import complete_credit_code

ROOT = Path(__file__).absolute().parents[2]


class Cli:
    def __init__(self, workdir: Path, database: Path):
        self.workdir = workdir
        self.database = database
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BARGAINING_")},
            "BARGAINING_DATABASE_URL": f"sqlite:///{database}",
            "PYTHONPATH": str(ROOT),
        }

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            cwd=self.workdir,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"{args}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def many(self, calls: list[tuple[str, ...]]) -> list[subprocess.CompletedProcess[str]]:
        """Independent commands side by side (each is its own process)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda args: self.run(*args), calls))

    def copy(self, name: str) -> Cli:
        target = self.workdir / name
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.database}{suffix}")
            if source.exists():
                shutil.copy(source, f"{target}{suffix}")
        return Cli(self.workdir, target)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode != 0, done.stdout
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, str]]:
    workdir = tmp_path_factory.mktemp("cli_demo")
    cli = Cli(workdir, workdir / "demo.sqlite3")
    assert "数据库已就绪" in cli.ok("init")
    yield cli, cli.ok("demo")


@pytest.fixture(scope="module")
def fresh_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A federation set up through the command line: city, street, an administrator, an instructor."""
    workdir = tmp_path_factory.mktemp("cli_fresh")
    cli = Cli(workdir, workdir / "fresh.sqlite3")
    cli.ok("init")
    cli.ok(
        "user", "add", "admin", "--name", "管理员", "--org", "city", "--org-name", "测试市总工会",
        "--role", "federation_admin", "--no-password",
    )  # fmt: skip
    cli.ok("admin", "org", "street", "测试街道总工会", "--level", "street", "--parent", "city")
    cli.ok(
        "user",
        "add",
        "zhang",
        "--name",
        "张指导员",
        "--org",
        "street",
        "--role",
        "instructor",
        "--no-password",
    )
    return cli


def test_demo_loads_cases_in_many_states(demo_cli: tuple[Cli, str]) -> None:
    cli, printed = demo_cli
    loaded = re.search(
        r"演示数据已载入：(\d+) 件协商（截至 (\d{4}-\d\d-\d\d) 的期限扫描：逾期提醒 (\d+) 件，自动处理 (\d+) 件）",
        printed,
    )
    assert loaded, printed
    cases, escalated, fired = int(loaded[1]), int(loaded[3]), int(loaded[4])
    assert cases >= 225 and escalated + fired > 0

    listed, again, init = cli.many(
        [("case", "list", "--limit", "500", "--json"), ("demo", "--if-empty"), ("init",)]
    )
    assert listed.returncode == 0, listed.stderr
    listing = json.loads(listed.stdout)
    assert listing["total"] == cases == len(listing["items"])
    states = {c["state"] for c in listing["items"]}
    assert len(states) >= 10, states
    assert {"preparation", "offer_sent", "negotiating", "in_force", "expired", "terminated"} <= states
    assert {c["kind"] for c in listing["items"]} == {"enterprise", "sector", "adoption"}
    # A second load with --if-empty is a no-op; init on a migrated database too.
    assert again.returncode == 0 and "跳过" in again.stdout, again.stderr
    assert init.returncode == 0 and init.stdout.startswith("数据库已就绪"), init.stderr


def test_case_show(demo_cli: tuple[Cli, str]) -> None:
    cli, _ = demo_cli
    listing = cli.json("case", "list", "--state", "in_force", "--kind", "enterprise", "--limit", "1")
    number = listing["items"][0]["number"]
    as_json, as_text, missing = cli.many(
        [("case", "show", number, "--json"), ("case", "show", number), ("case", "show", "2025-E9999999")]
    )
    assert as_json.returncode == 0 and as_text.returncode == 0, as_json.stderr + as_text.stderr
    detail = json.loads(as_json.stdout)
    assert detail["number"] == number and detail["state"] == "in_force"
    triggers = [e["trigger"] for e in detail["timeline"]]
    assert triggers[0] == "create"
    assert ("record_review_opinion" in triggers) != ("deem_approved" in triggers)
    assert {d["kind"] for d in detail["deadlines"]} >= {"expiry", "renewal"}
    assert detail["agreement"]["approved_text_hash"] == detail["agreement"]["text_hash"]
    assert "in_force" in detail["diagram"]
    text = as_text.stdout
    assert text.startswith(f"{number}  ") and "阶段：生效（in_force）" in text and "时间线：" in text
    assert_one_line_error(missing, "找不到协商 2025-E9999999")


def test_sweep_far_in_the_future(demo_cli: tuple[Cli, str]) -> None:
    cli = demo_cli[0].copy("swept.sqlite3")  # the other demo tests keep their data
    first = cli.json("sweep", "--now", "2030-01-01")
    assert first["now"] == "2029-12-31T16:00:00+00:00"  # 2030-01-01 00:00 China time
    assert first["failed"] == 0 and first["escalated"] > 0 and first["fired"] > 0
    assert len(first["details"]) == first["escalated"] + first["fired"]
    assert {"overdue", "expire", "deem_approved", "open_renewal"} <= {d["action"] for d in first["details"]}
    # Deadlines opened by this sweep's own firings (in force in 2030 → expiry and renewal long due)
    # are left for the next run; runs converge, and nothing is ever fired twice.
    fired = [(d["case"], d["kind"], d["action"]) for d in first["details"]]
    for _ in range(4):
        run = cli.json("sweep", "--now", "2030-01-01")
        assert run["failed"] == 0
        if not run["details"]:
            break
        fired += [(d["case"], d["kind"], d["action"]) for d in run["details"]]
    else:
        pytest.fail("the sweep does not converge")
    assert len(fired) == len(set(fired))
    text = cli.ok("sweep", "--now", "2030-01-02")
    assert text.strip() == "扫描时间 2030-01-01T16:00:00+00:00：逾期提醒 0 件，自动处理 0 件，处理失败 0 件"


KNOWN_ANSWERS = [
    # 20 calendar days; 10-16 is a Thursday.
    ("national", "response", "2025-09-26", "2025-10-16", ("20日", "第三十二条")),
    # 10 working days: 9-28 (make-up), 9-29, 9-30, [10-1..10-8 off], 10-9, 10-10, 10-11 (make-up),
    # 10-13, 10-14, 10-15, 10-16.
    ("zhejiang", "response", "2025-09-26", "2025-10-16", ("10个工作日", "浙江")),
    # 10 days: 10-6 is a holiday, so the next working day 10-9.
    ("shandong", "response", "2025-09-26", "2025-10-09", ("10日",)),
    # 15 days: 10-11 is a Saturday but a make-up working day, so it stays.
    ("shanghai", "response", "2025-09-26", "2025-10-11", ("15日",)),
    # 10 days of filing: 2026-01-03 is a day off, 01-04 (Sunday) a make-up working day.
    ("national", "filing", "2025-12-24", "2026-01-04", ("10日", "第四十二条")),
    # The renewal window opens 3 months before the term ends.
    ("national", "renewal", "2026-12-31", "2026-09-30", ("3个月",)),
]


def test_deadline_known_answers(fresh_cli: Cli) -> None:
    provisional = ("deadline", "--jurisdiction", "national", "--kind", "response", "--from", "2027-01-20")
    *runs, in_2027 = fresh_cli.many(
        [
            *(
                ("deadline", "--jurisdiction", j, "--kind", k, "--from", start)
                for j, k, start, _, _ in KNOWN_ANSWERS
            ),
            provisional,
        ]
    )
    for (jurisdiction, kind, start, due, words), done in zip(KNOWN_ANSWERS, runs, strict=True):
        assert done.returncode == 0, done.stderr
        first, second = done.stdout.splitlines()[:2]
        assert first == due, (jurisdiction, kind, start, first)
        for word in words:
            assert word in second, second
        assert "暂定" not in second
    # 2027 has no published holiday notice yet: weekends only, and said so.
    assert in_2027.stdout.splitlines()[0] == "2027-02-09" and "暂定" in in_2027.stdout.splitlines()[1]


def test_errors_are_one_clear_line(fresh_cli: Cli) -> None:
    valid = complete_credit_code("91320282MA0000009")
    wrong_digit = valid[:17] + ("0" if valid[17] != "0" else "1")
    results = fresh_cli.many(
        [
            ("deadline", "--jurisdiction", "mars", "--kind", "response", "--from", "2025-09-26"),
            ("deadline", "--jurisdiction", "national", "--kind", "response", "--from", "2025-13-01"),
            ("admin", "enterprise", wrong_digit, "错码有限公司", "--org", "street"),
            ("admin", "enterprise", valid[:16], "短码有限公司", "--org", "street"),
            ("case", "list", "--as", "nobody"),
        ]
    )
    unknown, bad_date, check_digit, short, nobody = results
    assert_one_line_error(unknown, "mars", "national")  # names the valid ones
    assert_one_line_error(bad_date, "2025-13-01", "YYYY-MM-DD")
    assert_one_line_error(check_digit, f"校验码应为“{valid[17]}”", f"实际为“{wrong_digit[17]}”")
    assert_one_line_error(short, "18位", "16位")
    assert_one_line_error(nobody, "nobody")
    assert "已登记企业" in fresh_cli.ok("admin", "enterprise", valid, "正码有限公司", "--org", "street")


def test_create_and_walk_a_case(fresh_cli: Cli) -> None:
    cli = fresh_cli
    code = complete_credit_code("91320282MA0000008")
    cli.ok("admin", "enterprise", code, "命令行机械有限公司", "--org", "street", "--headcount", "120")
    created = cli.json("case", "create", "--enterprise", code, "--as", "zhang")
    number = created["number"]
    assert created["state"] == "preparation" and created["kind"] == "enterprise"

    reps = [
        ("case", "rep-add", number, "--side", side, "--name", f"{side}{k}", "--as", "zhang",
         *(("--chief",) if k == 0 else ()), *(("--front-line",) if side == "worker" and k else ()))
        for side in ("worker", "employer")
        for k in range(3)
    ]  # fmt: skip
    for done in cli.many(reps):  # six users at once: SQLite queues the writers
        assert done.returncode == 0, done.stderr
    cli.ok(
        "case", "terms", number, "--as", "zhang", "--set", "term_start=2027-01-01", "--set", "term_end=2027-12-31",
        "--set", "avg_wage_before=5000", "--set", "avg_wage_after=5450", "--set", "payment_day=15",
    )  # fmt: skip

    def fire(trigger: str, *data: str, user: str = "zhang") -> dict[str, Any]:
        args = ["case", "fire", number, trigger, "--as", user]
        for item in data:
            args += ["-d", item]
        result: dict[str, Any] = cli.json(*args)
        return result

    sent = fire("send_offer", "from_side=worker", "subjects=年度工资调整")
    # Six representatives and the terms were recorded first, each moving the version on.
    assert (sent["from_state"], sent["state"], sent["version"]) == (
        "preparation",
        "offer_sent",
        created["version"] + 8,
    )
    assert fire("record_response")["state"] == "negotiating"
    fire("record_round", "chair_side=worker", "minutes=第一次协商，双方同意增资9%")
    submitted = fire("submit_draft", user="admin")
    assert (submitted["from_state"], submitted["state"]) == ("negotiating", "awaiting_congress")

    stale, refused, detail_run = cli.many(
        [
            ("case", "fire", number, "record_congress_vote", "-d", "total=60", "-d", "present=50",
             "-d", "votes_for=45", "-d", "against=3", "-d", "abstain=2", "--expected-version", str(sent["version"])),
            ("case", "fire", number, "record_response", "--as", "zhang"),
            ("case", "show", number, "--json"),
        ]
    )  # fmt: skip
    assert_one_line_error(stale, "已被他人修改", f"当前版本 {submitted['version']}")
    assert_one_line_error(refused, "不能记录书面回应", "待职代会审议")
    detail = json.loads(detail_run.stdout)
    assert detail["state"] == "awaiting_congress" and detail["version"] == submitted["version"]
    assert [e["trigger"] for e in detail["timeline"] if e["from"] != e["to"]] == [
        "create",
        "send_offer",
        "record_response",
        "submit_draft",
    ]
    assert [e["actor"] for e in detail["timeline"]][-1] == "管理员"
    assert len(detail["representatives"]) == 6 and [r["number"] for r in detail["rounds"]] == [1]
    assert {"offer_letter", "response_letter", "minutes"} <= {d["kind"] for d in detail["documents"]}
    assert [d["kind"] for d in detail["deadlines"]] == ["response"]
    assert detail["deadlines"][0]["status"] == "closed"
    text = cli.ok("case", "fire", number, "record_congress_vote", "-d", "total=60", "-d", "present=50",
                  "-d", "votes_for=45", "-d", "against=3", "-d", "abstain=2")  # fmt: skip
    assert text.startswith(f"{number}：awaiting_congress → awaiting_signature")
