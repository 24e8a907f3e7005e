"""``make load``: locust's users against the local stack, without and with AWS faults, and the
invariant checks over what they did (see ``load.__main__`` and ``docs/reliability.md``)."""
