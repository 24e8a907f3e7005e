"""What the tests share, one module per subject (importable as ``support.<module>``: pytest's
``pythonpath`` puts ``tests/`` on ``sys.path``).

- ``environment``: every function's environment from ``template.yaml``, set on import (the root
  ``conftest.py`` imports it before any test imports pwreset).
- ``api``: an in-process HTTP client over the template-driven gateway.
- ``samples``: the committed sample events (``events/``) and the test fixtures' directory.
- ``sent_mail``: the mail moto's SES accepted, the reset token in a link, and a spy on SendEmail
  that sees each mail whole (its parts and tags) and can make SES fail.
- ``template_copies``: copies of ``template.yaml`` with throwaway resources added.
- ``cloudformation``: the template transformed offline, and its IAM policies read.
- ``geoip``: a small MaxMind-format city database.
- ``ses_events``: SES event fixtures (``tests/fixtures/ses``) with their placeholders filled in.
- ``sns``: a signer standing in for SNS, a fake SNS certificate host, posts to the SES webhook.
- ``streams``: the tables' stream records as Lambda delivers them, and the template's event source
  mapping run over them by the local stack's poller.
- ``spies``: one spy on the AWS API calls botocore makes, which can also answer in AWS's place.
- ``html_parsing``: one HTML parser for pages and mails (elements, scripts, text, links, balance).
- ``pages``: what every hosted page answers with (security headers, CSP, the ids its script uses).
- ``accounts``: accounts tests add to the demo data (a second owner).
- ``mail_context``: what the mail tests render with (the holder's facts, the default letterhead).
- ``translations``: the check every table of German and English texts passes.
- ``user_agents``: the browsers the mail tests act from, as User-Agent headers.
- ``processes``: a fresh Python process (a cold start, a snapshot, ``python -m bench``/``load``).
- ``local_stack``: for the end-to-end tests, the local stack as a subprocess, spoken to over HTTP.
- ``provisioned``: the template's resources under moto, and a mock with the demo data for the
  sample scripts.
- ``notify_sample``: the script that makes ``events/notify_password_changed.json``.
- ``crm_bus``: the CRM's event bus under moto: what reached it, and a bus that refuses chosen entries.
- ``crm_sample``: the script that makes ``events/crm_events.json``.
"""
