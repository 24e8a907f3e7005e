"""The HTTP adapter: the powertools resolver and its one error mapping, request and response
schemas, and the hosted pages. Domain code never imports from here."""
