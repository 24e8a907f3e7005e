"""The template's resources under moto, built as the integration tests build them, and, for the
scripts that make the committed sample events, a whole mock with the demo data in it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from devstack.template import SamTemplate, provision


def provision_under_moto(template: SamTemplate) -> None:
    """Every table, queue, event bus, the origin secret and the SES identity ``template`` names,
    in the current mock."""
    provision(
        template,
        dynamodb=boto3.client("dynamodb"),
        sesv2=boto3.client("sesv2"),
        sqs=boto3.client("sqs"),
        secretsmanager=boto3.client("secretsmanager"),
        events=boto3.client("events"),
    )


@contextmanager
def demo_under_moto(template: SamTemplate) -> Iterator[None]:
    """A fresh mock with ``template``'s resources and the demo data provisioned through the signed
    API: what a sample script runs in, outside pytest (so it sets fake credentials itself)."""
    from moto import mock_aws

    from devstack.seed import load_demo_data, seed
    from support.api import Api

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        provision_under_moto(template)
        seed(load_demo_data(), Api().provision)
        yield
