"""Mail: address normalisation, rendering and sending through SES, and the notifications sent
after a password change (with where and on what the change was made)."""
