"""Start-up checks for rendering: HarfBuzz subsetting and the CJK fonts.

Without ``libharfbuzz-subset`` WeasyPrint falls back to fontTools to subset fonts, which for a
Noto CJK face is about 28 times slower (7.6 s instead of 0.95 s for a 10-page agreement). The
check is cheap (no WeasyPrint import) and runs before the first rendering in a process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from functools import cache

from bargaining.errors import DomainError

HB_SUBSET_NAMES = ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll")
FONT_FAMILIES = ("Noto Serif CJK SC",)
INSTALL_HINT = "sudo apt-get install libharfbuzz-subset0 fonts-noto-cjk（或运行 bash scripts/setup.sh）"


class RenderingUnavailable(DomainError):
    code = "rendering_unavailable"
    http_status = 503


def harfbuzz_subset_present() -> bool:
    for name in HB_SUBSET_NAMES:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return ctypes.util.find_library("harfbuzz-subset") is not None


def font_present(family: str) -> bool:
    if shutil.which("fc-match") is None:
        return True  # cannot tell without fontconfig's tool; WeasyPrint's tofu check still applies
    found = subprocess.run(
        ["fc-match", "--format=%{family}", family], capture_output=True, text=True, check=False
    ).stdout
    return family in found.split(",")


@cache
def problems() -> tuple[str, ...]:
    found = []
    if not harfbuzz_subset_present():
        found.append(
            "缺少 libharfbuzz-subset（HarfBuzz 字体子集库）：没有它，中文字体子集化约慢28倍"
            f"（10页合同约7.6秒而非1秒）。请安装：{INSTALL_HINT}"
        )
    for family in FONT_FAMILIES:
        if not font_present(family):
            found.append(f"缺少中文字体“{family}”。请安装：{INSTALL_HINT}")
    return tuple(found)


def require_rendering() -> None:
    """Raise with installation instructions unless rendering can run at full speed.

    ``BARGAINING_ALLOW_SLOW_FONTS=1`` lets rendering run without hb-subset (slow, not recommended).
    """
    found = list(problems())
    if found and os.environ.get("BARGAINING_ALLOW_SLOW_FONTS") == "1":
        found = [p for p in found if "harfbuzz" not in p.lower()]
    if found:
        raise RenderingUnavailable("无法生成PDF文书：" + "；".join(found))
