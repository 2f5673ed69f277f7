"""Publish: report notebooks run with papermill into self-contained HTML, and the catalogue.

:mod:`~analysis.publish.params` (check a request before any kernel starts),
:mod:`~analysis.publish.execute` (papermill), :mod:`~analysis.publish.runner` (the run, in steps),
:mod:`~analysis.publish.sanitize` and :mod:`~analysis.publish.htmlexport` (nbconvert, safe to
share), :mod:`~analysis.publish.catalogue` (``reports/index.html``).
"""

import sys

# nbformat (which papermill and nbconvert import) validates notebooks with jsonschema, and
# jsonschema, when rfc3987_syntax is installed (JupyterLab's jupyter-events brings it), builds a
# Lark grammar for the "iri" string format at import: 0.8 s of every report's start, before its
# kernel can start. No notebook schema uses that format, so a report's process does without it
# (jsonschema then leaves "iri" unchecked, as it does when the package is absent). Only where
# jsonschema is not imported yet: a process that already has it (JupyterLab) is left as it is.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
