"""A PDF beside the HTML, printed by headless Chromium (Debian's ``chromium``).

People who file documents rather than links get the same page, printed with the report's print
stylesheet (A4). Chromium is started the way the tests start it: headless, no sandbox (it runs in
containers), no background networking, a fresh profile folder removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from analysis import settings
from analysis.errors import EnvironmentProblem

#: Headless and quiet: the machine may have no network, and nothing may be fetched.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
)


def print_pdf(html: Path, pdf: Path, timeout: float = settings.PDF_TIMEOUT) -> Path:
    """Print ``html`` to ``pdf`` with Chromium; :class:`EnvironmentProblem` when Chromium is
    missing, fails or writes nothing (one line, naming it)."""
    chromium = settings.chromium_path()
    if shutil.which(str(chromium)) is None and not Path(chromium).exists():
        raise EnvironmentProblem(
            f"--pdf: Chromium not found at {chromium} (install Debian's chromium, or set "
            "TA_OUTCOMES_CHROMIUM)"
        )
    html, pdf = Path(html).resolve(), Path(pdf)
    with tempfile.TemporaryDirectory(prefix="ta-pdf-") as profile:
        try:
            run = subprocess.run(
                [str(chromium), *CHROMIUM_ARGS, f"--user-data-dir={profile}",
                 f"--print-to-pdf={pdf}", html.as_uri()],
                capture_output=True, text=True, timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(
                f"--pdf: Chromium did not finish within {timeout:g} s"
            ) from None
    if run.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        detail = (run.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise EnvironmentProblem(f"--pdf: Chromium could not print {html.name} ({detail})")
    return pdf
