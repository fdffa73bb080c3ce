"""``bargaining document …``, ``bargaining keys …`` and ``bargaining verify``.

``register(app)`` adds them to the main Typer app. Heavy libraries (WeasyPrint, pyHanko) are
imported inside the commands, so ``bargaining --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bargaining.actors import Actor
from bargaining.errors import ValidationError

AsUser = Annotated[
    str, typer.Option("--as", help="操作用户（默认取 BARGAINING_USER，否则 admin）", envvar="BARGAINING_USER")
]
JsonOut = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def _db() -> Any:
    from services import runtime

    return runtime.database()


def _actor(username: str) -> Actor:
    from services.identity import actor_by_username
    from services.uow import unit_of_work

    with unit_of_work(_db(), write=False) as uow:
        return actor_by_username(uow.session, username)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


document_app = typer.Typer(help="文书：生成PDF、签署、上传扫描件", no_args_is_help=True)
keys_app = typer.Typer(help="测试证书：联合会测试CA与签名人证书（仅供开发和演示）", no_args_is_help=True)


@document_app.command("render")
def document_render(
    case: Annotated[str, typer.Argument(help="协商编号或ID")],
    kind: Annotated[
        str,
        typer.Argument(
            help="offer_letter 要约书 / response_letter 回应书 / minutes 会议记录 / congress_resolution 职代会决议 / "
            "signed_agreement 签字文本 / disclosure_notice 公示 / filing_form 报送表 / review_opinion 审查意见书 / "
            "coordination_agreement 协调处理协议书 / agreement 协议文本（草案或通过稿）"
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出PDF文件")],
    document_id: Annotated[
        int | None, typer.Option("--id", help="同类文书有多份时（如多次会议记录）指定文书ID")
    ] = None,
    refresh: Annotated[bool, typer.Option(help="按当前模板和数据重新生成（已签署的文书除外）")] = False,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """生成一份文书的PDF。"""
    from .api import render_document

    result = render_document(_db(), _actor(as_user), case, kind, document_id=document_id, refresh=refresh)
    _write(out, result.pdf)
    info = {
        "file": str(out),
        "title": result.title,
        "kind": result.kind,
        "document_id": result.document_id,
        "rendering_id": result.rendering_id,
        "template": f"{result.template} {result.template_version}",
        "pages": result.pages,
        "sha256": result.sha256,
        "signed": result.signed,
        "reused": result.reused,
    }
    if as_json:
        _print_json(info)
        return
    how = "已签署文件" if result.signed else ("存档文件" if result.reused else "新生成")
    typer.echo(
        f"已输出《{result.title}》（{how}，模板 {result.template} {result.template_version}，{result.pages}页）→ {out}"
    )
    typer.echo(f"SHA-256：{result.sha256}")


@document_app.command("list")
def document_list(case: str, as_user: AsUser = "admin", as_json: JsonOut = False) -> None:
    """列出协商的全部文书：是否已生成、签名、扫描件。"""
    from .api import list_documents

    result = list_documents(_db(), _actor(as_user), case)
    if as_json:
        _print_json(result)
        return
    for d in result["documents"]:
        state = f"已生成（{d['template']} {d['template_version']}）" if d["rendered"] else "未生成"
        extra = f"，电子签名{len(d['signatures'])}个" if d["signatures"] else ""
        extra += f"，扫描件{len(d['scans'])}份" if d["scans"] else ""
        typer.echo(f"  [{d['id']}] {d['kind']}  {d['title']}  {d['created_at'][:10]}  {state}{extra}")
    agreement = result["agreement"]
    if agreement:
        approved = "已经职代会通过" if agreement["approved"] else "未经职代会通过（或通过后已修改）"
        typer.echo(f"协议文本校验码：{agreement['content_hash']}（{approved}）")


@document_app.command("sign")
def document_sign(
    case: Annotated[str, typer.Argument(help="协商编号或ID")],
    kind: Annotated[str, typer.Option(help="只能签署协议文本：agreement")] = "agreement",
    signed_on: Annotated[str | None, typer.Option(help="签字日期 YYYY-MM-DD（默认今天）")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="同时输出已签署的PDF")] = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """双方首席代表按顺序（企业方、职工方）对职代会通过的文本进行电子签名（PAdES，带时间戳）。"""
    from services.timeparse import parse_date

    from .api import render_document, sign_agreement

    if kind not in ("agreement", "signed_agreement"):
        raise ValidationError("只有协议文本需要双方首席代表签署：请使用 --kind agreement。")
    actor = _actor(as_user)
    result = sign_agreement(_db(), actor, case, signed_on=parse_date(signed_on) if signed_on else None)
    if out is not None:
        _write(out, render_document(_db(), actor, case, "signed_agreement").pdf)
    if as_json:
        _print_json(result)
        return
    for note in result["notes"]:
        typer.echo(note)
    for sig in result["signatures"]:
        test = "（测试证书，仅供测试，不具法律效力）" if sig["test_certificate"] else ""
        typer.echo(
            f"  第{sig['sequence']}签：{sig['role']} {sig['name']}  证书序列号 {sig['certificate_serial']}{test}"
        )
    typer.echo(f"{result['number']}：已签署 → {result['state_label']}，版本 {result['version']}")
    typer.echo(f"签署文件 SHA-256：{result['pdf_sha256']}；文本校验码：{result['text_hash']}")
    if out is not None:
        typer.echo(f"已输出 → {out}")


@document_app.command("upload-scan")
def document_upload_scan(
    case: Annotated[str, typer.Argument(help="协商编号或ID")],
    kind: Annotated[str, typer.Argument(help="文书类型，如 signed_agreement（手签协议扫描件）")],
    file: Annotated[Path, typer.Argument(help="扫描件（PDF/PNG/JPEG/TIFF）", exists=True, dir_okay=False)],
    note: Annotated[str | None, typer.Option(help="说明")] = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """上传手写签字的扫描件（与其SHA-256一起存档）。"""
    from .api import store_scan

    result = store_scan(_db(), _actor(as_user), case, kind, file.name, file.read_bytes(), note=note)
    if as_json:
        _print_json(result)
        return
    typer.echo(f"已存档《{result['title']}》扫描件 {result['filename']}（{result['size_bytes']}字节）")
    typer.echo(f"SHA-256：{result['sha256']}")


@document_app.command("render-all")
def document_render_all(
    parent: Annotated[str, typer.Option("--parent", help="行业协商编号：生成其全部履约协议")],
    sign: Annotated[bool, typer.Option(help="同时签署待签字的履约协议")] = False,
    signed_on: Annotated[str | None, typer.Option(help="签字日期 YYYY-MM-DD（默认今天）")] = None,
    workers: Annotated[int | None, typer.Option(help="并行进程数（默认CPU核数）")] = None,
    as_user: AsUser = "admin",
    as_json: JsonOut = False,
) -> None:
    """批量生成（并可签署）一个行业协商下全部企业履约协议，多进程并行，显示进度。"""
    from services.timeparse import parse_date

    from .bulk import render_all

    def progress(done: int, total: int, number: str, error: str | None) -> None:
        if as_json:
            return
        width = 30
        filled = int(width * done / total) if total else width
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {number}"
        sys.stderr.write(line.ljust(70))
        if error:
            sys.stderr.write(f"\n  {number}：{error}\n")
        sys.stderr.flush()

    report = render_all(
        _db(),
        _actor(as_user),
        parent,
        sign=sign,
        signed_on=parse_date(signed_on) if signed_on else None,
        workers=workers,
        progress=progress,
    )
    if as_json:
        _print_json(report.to_dict())
        return
    sys.stderr.write("\n")
    typer.echo(
        f"{report.parent}：履约协议{report.total}件，生成{len(report.rendered)}件，签署{len(report.signed)}件，"
        f"跳过{len(report.skipped)}件，失败{len(report.failed)}件；{report.workers}个进程，用时{report.seconds:.1f}秒"
    )
    for line in report.notes[:5]:
        typer.echo(f"  {line}")
    if len(report.notes) > 5:
        typer.echo(f"  …共签发测试证书{len(report.notes)}张")
    for line in report.failed:
        typer.echo(f"  失败：{line}")


@document_app.command("pending")
def document_pending(
    case: Annotated[str | None, typer.Argument(help="只处理此协商（默认：全部可见协商）")] = None,
    as_user: AsUser = "admin",
) -> None:
    """为已完成步骤但尚未生成PDF的文书生成PDF。"""
    from .api import render_pending

    report = render_pending(_db(), _actor(as_user), case)
    typer.echo(f"已生成{len(report.rendered)}份，失败{len(report.failed)}份")
    for line in report.failed:
        typer.echo(f"  失败：{line}")


@document_app.command("reproduce")
def document_reproduce(
    rendering_id: int,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="输出PDF文件")] = None,
    as_user: AsUser = "admin",
) -> None:
    """按存档的数据和模板版本重新生成一份文书，核对是否与存档逐字节相同。"""
    from .api import reproduce

    pdf, same = reproduce(_db(), _actor(as_user), rendering_id)
    if out is not None:
        _write(out, pdf)
    typer.echo("与存档文件逐字节相同。" if same else "与存档文件不同！")
    if not same:
        sys.exit(1)  # (typer.Exit's code is lost under the main app's standalone_mode=False)


@document_app.command("templates")
def document_templates(
    update: Annotated[bool, typer.Option(help="修改模板并提高版本号后，重新计算清单中的哈希")] = False,
) -> None:
    """列出文书模板（版本与哈希）。"""
    from . import templating

    if update:
        changed = templating.update_manifest()
        typer.echo("已更新：" + ("、".join(changed) if changed else "无变化"))
        return
    stale = templating.check_manifest()
    for name, info in templating.all_templates().items() if not stale else []:
        typer.echo(f"  {name}  {info.version}  {info.sha256[:16]}  {info.title}")
    if stale:
        raise ValidationError(
            "模板与清单不一致："
            + "、".join(stale)
            + "。请提高版本号并运行 bargaining document templates --update。"
        )


@keys_app.command("init")
def keys_init(
    force: Annotated[bool, typer.Option(help="重新生成测试CA（此前签发的证书全部作废）")] = False,
) -> None:
    """建立联合会测试CA、测试时间戳服务和证书吊销列表（仅供开发和演示）。"""
    from . import keys

    report = keys.init_keys(force=force)
    if report.created:
        typer.echo(f"已建立测试CA：{report.ca_subject}")
    else:
        typer.echo(f"测试CA已存在：{report.ca_subject}（如需重建请加 --force）")
    typer.echo(f"CA证书指纹（SHA-256）：{report.ca_fingerprint}")
    typer.echo(f"密钥目录：{report.directory}（私钥以PKCS#8加密保存，不进入代码库或数据库）")
    if report.passphrase_source.startswith("环境变量"):
        typer.echo(f"私钥口令来自{report.passphrase_source}。")
    else:
        typer.echo(
            f"注意：私钥口令保存在开发用口令文件 {report.passphrase_source}（权限0600）。"
            "仅限开发和演示；生产环境请设置 BARGAINING_KEY_PASSPHRASE 并使用正式CA。"
        )
    typer.echo(f"已签发签名人测试证书：{report.people}张（首席代表首次签署时自动签发）。")
    typer.echo("以测试证书签署的文件会在签名外观上注明“测试证书：仅供测试，不具法律效力”。")


@keys_app.command("list")
def keys_list(as_json: JsonOut = False) -> None:
    """列出已签发的签名人测试证书。"""
    from . import keys

    people = keys.list_people()
    if as_json:
        _print_json(people)
        return
    for p in people:
        typer.echo(
            f"  {p['name']}  {p['organisation']}  序列号 {p['serial']}  有效期至 {p['not_after'][:10]}"
        )
    typer.echo(f"共{len(people)}张")


def verify(
    file: Annotated[Path, typer.Argument(help="要验证的PDF文件", exists=True, dir_okay=False)],
    as_json: JsonOut = False,
) -> None:
    """验证PDF：每个签名、签名人、时间、签名后是否被修改、文本是否为职代会通过的文本。"""
    from .verify import verify_pdf

    report = verify_pdf(_db(), file.read_bytes())
    if as_json:
        _print_json(report.to_dict())
    else:
        typer.echo(f"{file.name}：{report.verdict}")
        typer.echo(f"文件SHA-256：{report.sha256}")
        for line in report.messages:
            typer.echo(f"  {line}")
    ok = report.all_valid and not report.changed_after_signing and report.matches_approved_text is not False
    if not ok:
        sys.exit(1)  # (typer.Exit's code is lost under the main app's standalone_mode=False)


def register(app: typer.Typer) -> None:
    """Add ``document``, ``keys`` and ``verify`` to the ``bargaining`` command."""
    app.add_typer(document_app, name="document")
    app.add_typer(keys_app, name="keys")
    app.command("verify")(verify)
