"""Mail: address normalisation, rendering and sending through SES, where and on what a request
was made (location, browser and system) as the mails tell it, and how a firm shows itself to its
clients (:mod:`pwreset.mail.brand`)."""
