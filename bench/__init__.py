"""`make bench`: cold start, warm latency, AWS calls and package size of each flow, each measured
against a raw-boto3 baseline in the same run against the same moto server.

Layout: ``flows.py`` says what a flow is (handler, event, baseline, minimum calls); ``stack.py``
starts moto and builds the Lambda-like environment; ``child.py`` is the fresh process that serves a
flow (service or baseline); ``baseline.py`` holds the raw-boto3 flows; ``runner.py`` measures;
``report.py`` writes ``bench/results.md`` and ``bench/results.png``.
"""
