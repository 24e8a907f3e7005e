"""Mail: address normalisation, rendering and sending through SES, and where and on what a request
was made (location, browser and system) as the mails tell it."""
