"""Publish: report notebooks run with papermill into self-contained HTML, and the catalogue.

:mod:`~analysis.publish.params` (check a request before any kernel starts),
:mod:`~analysis.publish.execute` (papermill), :mod:`~analysis.publish.runner` (the run, in steps),
:mod:`~analysis.publish.sanitize` and :mod:`~analysis.publish.htmlexport` (nbconvert, safe to
share), :mod:`~analysis.publish.catalogue` (``reports/index.html``).
"""
