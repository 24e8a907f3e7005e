"""What proves who someone is: reset tokens, sessions, rate limits, password hashing and policy,
and the reset flows that tie them together."""
