"""Events for the CRM on Amazon EventBridge (``docs/events.md``).

:mod:`pwreset.crm.events` makes ``PasswordChanged``, ``AccountLocked``, ``EmailUndeliverable`` and
``EmailChanged`` out of the audit events the events table's stream carries; :mod:`pwreset.crm.publisher`
puts them on the bus in batches, retries what the bus refused entry by entry and parks what it kept
refusing in a dead-letter queue. Nothing here runs on a request's path: the stream function does.
"""
