"""Accounts as the CRM keeps them: provisioning firms and accounts, and erasing them."""
