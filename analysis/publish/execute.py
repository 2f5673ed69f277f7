"""Executing a report notebook with papermill, the way scheduled reports are run.

The kernel talks over Unix sockets in a private folder (``ta-kernel-<pid>-*`` in the temp folder),
removed when the run ends; folders left by runs that were killed are removed by the next run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from analysis import settings

SOCKET_PREFIX = "ta-kernel-"


def _kernel_config(socket_dir: Path | None):
    from traitlets.config import Config

    config = Config()
    if socket_dir is not None:
        # Unix sockets in a private folder instead of TCP ports on localhost: nothing else on
        # the machine can reach the kernel, and ipykernel stops warning on every run that its
        # TCP traffic is unencrypted. A folder of its own so two kernels never share a name.
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(socket_dir / "kernel")
    return config


def remove_stale_socket_dirs(temp_dir: Path | str | None = None) -> list[Path]:
    """Remove the socket folders of runs whose process is gone (a killed report); return them."""
    removed = []
    for folder in Path(temp_dir or tempfile.gettempdir()).glob(f"{SOCKET_PREFIX}*"):
        pid_text = folder.name[len(SOCKET_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or not folder.is_dir():
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # another user's live process
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def execute_notebook(nb_path: Path, output: Path, parameters: dict, progress: bool = True) -> None:
    """Execute ``nb_path`` into ``output`` with papermill, in-process, the way reports are run.

    Raises papermill's ``PapermillExecutionError`` for a failing cell (after saving the partial
    notebook to ``output``), or nbclient's errors for a kernel that died or did not start.
    """
    import papermill

    remove_stale_socket_dirs()
    socket_dir = (
        Path(tempfile.mkdtemp(prefix=f"{SOCKET_PREFIX}{os.getpid()}-"))
        if os.name == "posix"
        else None
    )
    try:
        papermill.execute_notebook(
            str(nb_path),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=progress,
            request_save_on_cell_execute=False,
            start_timeout=settings.KERNEL_START_TIMEOUT,
            iopub_timeout=settings.OUTPUT_WAIT_TIMEOUT,  # passed on to nbclient's client
            cwd=str(
                nb_path.parent
            ),  # as JupyterLab does: the kernel starts in the notebook's folder
            # nbclient's default 'graceful' shutdown can stall ~3 s waiting for the kernel to
            # acknowledge; the executed notebook is complete by then, so stop it at once.
            shutdown_kernel="immediate",
            config=_kernel_config(socket_dir),
            # Charts inline whatever MPLBACKEND the caller's environment has (a headless
            # scheduler or a test run often sets Agg, which the kernel would inherit and then
            # show no figures at all). Reports draw charts, so this costs no extra import.
            extra_arguments=["--matplotlib=inline"],
        )
    finally:
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)


def describe_failure(exc: Exception, partial: Path | None) -> str:
    """Finish the sentence "NAME PERIOD failed ...": the failing cell and its error, one line.

    For a failing cell: ``in cell 4 [explode] `raise ValueError("x")`: ValueError: x``, the cell
    numbered from 1 as in the notebook one edits (papermill's injected cell not counted).
    """
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(exc, PapermillExecutionError):
        text = " ".join(str(exc).split()) or type(exc).__name__
        return f"({type(exc).__name__}): {text[:300]}"
    where = f"in cell {exc.cell_index + 1}"
    first_line = next((ln.strip() for ln in str(exc.source).splitlines() if ln.strip()), "")
    tags: list[str] = []
    if partial is not None and partial.exists():
        import nbformat
        from papermill.execute import ERROR_MARKER_TAG

        # exc.cell_index counts the executed cells before papermill added its two error-marker
        # cells to the saved notebook; drop those to index the same list.
        cells = [
            c
            for c in nbformat.read(partial, as_version=4).cells
            if ERROR_MARKER_TAG not in c.get("metadata", {}).get("tags", [])
        ]
        # Number cells as in the notebook the user edits: papermill's injected cell is not there.
        injected = sum(
            "injected-parameters" in c.get("metadata", {}).get("tags", [])
            for c in cells[: exc.cell_index]
        )
        where = f"in cell {exc.cell_index + 1 - injected}"
        if exc.cell_index < len(cells):
            tags = list(cells[exc.cell_index].get("metadata", {}).get("tags", []))
    if tags:
        where += f" [{', '.join(tags)}]"
    if first_line:
        where += f" `{first_line[:80]}{'...' if len(first_line) > 80 else ''}`"
    evalue = " ".join(str(exc.evalue).split())[:300]
    return f"{where}: {exc.ename}: {evalue}"
