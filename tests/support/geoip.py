"""A small MaxMind-format city database for tests, in the GeoIP2/GeoLite2 City record layout
(names per language under ``city``, ``subdivisions`` and ``country``), written with mmdb-writer."""

from __future__ import annotations

from pathlib import Path

# Documentation ranges (RFC 5737): 198.51.100.0/24 is "Munich" here, 192.0.2.0/24 is only "Austria".
MUNICH_NETWORK = "198.51.100.0/24"
AUSTRIA_NETWORK = "192.0.2.0/24"


def write_city_database(path: Path) -> Path:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City", languages=["de", "en"]
    )
    writer.insert_network(
        IPSet([MUNICH_NETWORK]),
        {
            "city": {"names": {"de": "München", "en": "Munich"}},
            "subdivisions": [{"iso_code": "BY", "names": {"de": "Bayern", "en": "Bavaria"}}],
            "country": {"iso_code": "DE", "names": {"de": "Deutschland", "en": "Germany"}},
        },
    )
    writer.insert_network(
        IPSet([AUSTRIA_NETWORK]),
        {"country": {"iso_code": "AT", "names": {"de": "Österreich", "en": "Austria"}}},
    )
    writer.to_db_file(str(path))
    return path
