"""Report: what a reader sees, built on :mod:`analysis.metrics` (no SQL here).

:mod:`~analysis.report.display` (tables, banners), :mod:`~analysis.report.fmt` (every format),
:mod:`~analysis.report.labels`, :mod:`~analysis.report.context` (a report's parameters and
period), :mod:`~analysis.report.sections` (the outcome report, in notebook order),
:mod:`~analysis.report.audit` (data quality), :mod:`~analysis.report.methodology`,
:mod:`~analysis.report.stamp`, :mod:`~analysis.report.plots`, :mod:`~analysis.report.privacy`
and :mod:`~analysis.report.console` (the command line's table).
"""
