"""What proves who someone is: reset and lock tokens, sessions, rate limits, password hashing and
policy, the reset flows that tie them together, and the mails after a password change or a lock
(a client's carries the lock link)."""
