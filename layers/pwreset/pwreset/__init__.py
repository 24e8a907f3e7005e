"""Password-reset domain package shared by the Lambda handlers (shipped as a layer).

Areas, one subpackage each, in the order they may depend on each other:

* ``runtime``: how the functions run on Lambda, apart from what they do (SnapStart hooks, package
  initialisers run lazily, tracing, offline answers for warm-ups); it knows nothing of the service,
  not even its configuration, so everything else may build on it;
* ``core``: configuration, errors, observability, locales and times, request facts, AWS clients;
* ``storage``: the pynamodb models, the one data-access module for accounts and firms, and the
  transactions the flows write with (no other area imports pynamodb);
* ``mail``: addresses, rendering and sending mail, where and on what a request was made;
* ``delivery``: SES events through SNS and the delivery diagnosis staff read;
* ``credentials``: reset and lock tokens, sessions, rate limits, password hashing and policy, the
  flows that tie them together, and the notifications after a change or a lock;
* ``accounts``: accounts as the CRM provisions them (create, update, erase);
* ``crm``: the events for the CRM on its EventBridge bus (made from the audit events, put in
  batches, retried, parked);
* ``api``: the HTTP adapter (powertools resolver, one error mapping), request and response schemas,
  the hosted pages. Handlers use it; nothing in the domain does.

A module imports only from its own area or from areas listed before it, and no two modules import
each other (``tests/unit/test_package_layout.py``).

Importing the package first defers three of powertools' package initialisers that only re-export
(``pwreset.runtime.lazy_packages``): handlers import powertools' resolver and event classes through
``pwreset.api.powertools``, after this has run.
"""

from pwreset.runtime.lazy_packages import defer

defer(
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.utilities.batch",
)
