"""Foundations every other area uses: configuration, errors, observability, locales and times,
the request facts the domain sees, and the AWS clients."""
