"""Execute one notebook with nbclient, cell by cell, and record where it stopped.

Usage: python3 execute_notebook.py SOURCE RESULT_JSON WORKDIR TIMEOUT_SECONDS

Writes RESULT_JSON as {"notebook": <executed notebook, serialised by nbformat>,
"failed_cell": <index or null>, "error": <text>}. Driven by lib/notebook/run.ts,
which reads the failing cell's own outputs: tslab reports errors on the cell's
stderr, not in the execute reply.
The whole notebook shares one deadline; each cell may use what is left of it.
"""
import json
import math
import signal
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def execute(source, workdir, timeout):
    nb = nbformat.read(source, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "tslab")
    client = NotebookClient(
        nb, timeout=int(timeout), kernel_name=kernel, record_timing=False,
        resources={"metadata": {"path": workdir}},
    )
    deadline = time.monotonic() + timeout
    with client.setup_kernel():
        info = client.wait_for_reply(client.kc.kernel_info())
        if info and "language_info" in info["content"]:
            nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return nb, index, f"notebook timeout of {timeout:g} s reached before this cell"
            client.timeout = max(1, math.ceil(remaining))
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                return nb, index, f"notebook timeout of {timeout:g} s reached in this cell"
            except (CellExecutionError, DeadKernelError) as e:
                return nb, index, str(e)
    return nb, None, ""


def main():
    # A SIGTERM from the driver unwinds through setup_kernel, which shuts the kernel down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    source, result_path, workdir, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    try:
        nb, failed, error = execute(source, workdir, timeout)
        result = {"notebook": nbformat.writes(nb), "failed_cell": failed, "error": error}
    except Exception as e:  # kernel missing, kernel died at start-up, unreadable notebook
        result = {"notebook": None, "failed_cell": None, "error": f"{type(e).__name__}: {e}"}
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
