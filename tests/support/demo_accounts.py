"""The accounts of the demo data (local/demo_data.json) that tests name, by id; a test reads the
rest of an account (its address, name, language) from the ``demo`` fixture."""

OWNER = "acc-berger-owner"  # Petra Berger, an owner of Steuerkanzlei Berger & Partner: German, Europe/Berlin
MEMBER = "acc-berger-member"  # Jonas Weber, a team member of Berger's: German, Europe/Berlin
ANNA = "acc-berger-client-anna"  # Anna Schmidt, a client of Berger's: German, Europe/Berlin
JAMES = "acc-berger-client-james"  # James Miller, a client of Berger's: English, America/New_York
MARIA = "acc-hartmann-client-maria"  # Maria Lopez, a client of Hartmann Tax Advisors: English, Europe/Vienna

# Anna's account as the CRM provisions it (the body of PUT /v1/admin/accounts/{ANNA}), and so as
# the demo data seeds it.
ANNA_PROVISIONED = {
    "firm_id": "firm-berger",
    "role": "client",
    "email": "anna.schmidt@example.com",
    "name": "Anna Schmidt",
    "locale": "de",
    "time_zone": "Europe/Berlin",
    "status": "active",
}
