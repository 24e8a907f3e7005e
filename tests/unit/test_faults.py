"""The fault spec of ``make dev FAULTS=...``: what it accepts, which rule applies to a call, and
that a seed replays the same decisions."""

from __future__ import annotations

import pytest

from devstack.faults import FaultPlan, FaultRule, FaultSpecError, parse_faults


def code(plan: FaultPlan, service: str, operation: str) -> str | None:
    """The error code the plan answers this call with, None when it lets the call through."""
    decided = plan.decide(service, operation)
    return decided.error.code if decided else None


def test_a_spec_names_operations_of_either_service_with_or_without_one_error() -> None:
    rules = parse_faults(
        "dynamodb.TransactWriteItems=0.05, sesv2.*=0.1,dynamodb.PutItem:ThrottlingException=0.2"
    )

    assert rules == [
        FaultRule("dynamodb", "TransactWriteItems", None, 0.05),
        FaultRule("sesv2", "*", None, 0.1),
        FaultRule("dynamodb", "PutItem", "ThrottlingException", 0.2),
    ]
    assert parse_faults("") == []


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("sqs.SendMessage=0.1", "dynamodb, sesv2, events only"),
        ("dynamodb.PutItems=0.1", "no operation 'PutItems'"),
        ("dynamodb.PutItem=1.5", "from 0 to 1"),
        ("dynamodb.PutItem=often", "from 0 to 1"),
        ("dynamodb.PutItem", "service.Operation"),
        ("dynamodb.PutItem:TransactionConflict=0.1", "fails with one of"),
        ("dynamodb.*:TransactionConflict=0.1", "fails with one of"),
        ("sesv2.SendEmail:ThrottlingException=0.1", "fails with one of"),
        ("events.PutRule:FailedEntries=0.1", "fails with one of"),  # only PutEvents fails in part
        ("events.*:FailedEntries=0.1", "fails with one of"),
        ("dynamodb.GetItem=0.6,dynamodb.GetItem:InternalServerError=0.6", "add up to 1.2"),
    ],
)
def test_a_spec_aws_would_not_produce_is_refused(spec: str, complaint: str) -> None:
    with pytest.raises(FaultSpecError, match=complaint):
        parse_faults(spec)


def test_a_transaction_conflict_is_one_of_the_transactions_errors() -> None:
    plan = FaultPlan(parse_faults("dynamodb.TransactWriteItems=1"), seed=1)

    codes = {code(plan, "dynamodb", "TransactWriteItems") for _ in range(200)}

    assert codes == {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "InternalServerError",
        "TransactionConflict",
    }


def test_put_events_fails_whole_or_in_part() -> None:
    plan = FaultPlan(parse_faults("events.PutEvents=1"), seed=1)

    codes = {code(plan, "events", "PutEvents") for _ in range(200)}

    assert codes == {"ThrottlingException", "InternalException", "FailedEntries"}
    assert parse_faults("events.PutEvents:FailedEntries=0.05") == [
        FaultRule("events", "PutEvents", "FailedEntries", 0.05)
    ]


def test_an_operations_own_rule_replaces_the_services_star_rule() -> None:
    plan = FaultPlan(parse_faults("dynamodb.*=1,dynamodb.GetItem=0"), seed=1)

    assert {code(plan, "dynamodb", "GetItem") for _ in range(100)} == {None}
    assert None not in {code(plan, "dynamodb", "PutItem") for _ in range(100)}
    assert {code(plan, "sesv2", "SendEmail") for _ in range(100)} == {None}
    report = plan.report()
    assert report["calls"] == {"dynamodb.GetItem": 100, "dynamodb.PutItem": 100, "sesv2.SendEmail": 100}
    assert report["injected_total"] == 100


def test_rate_zero_never_fails_a_call_and_rate_one_fails_every_call() -> None:
    plan = FaultPlan(parse_faults("sesv2.SendEmail=0,sesv2.GetAccount:TooManyRequestsException=1"), seed=7)

    assert {code(plan, "sesv2", "SendEmail") for _ in range(1000)} == {None}
    assert {code(plan, "sesv2", "GetAccount") for _ in range(50)} == {"TooManyRequestsException"}


def test_a_seed_replays_each_operations_decisions_whatever_the_other_operations_do() -> None:
    rules = parse_faults("dynamodb.*=0.3")
    first, second, other_seed = (
        FaultPlan(rules, seed=42),
        FaultPlan(rules, seed=42),
        FaultPlan(rules, seed=43),
    )

    def outcomes(plan: FaultPlan, *, interleave: bool) -> list[str | None]:
        seen = []
        for _ in range(200):
            if interleave:
                plan.decide("dynamodb", "GetItem")
            seen.append(code(plan, "dynamodb", "PutItem"))
        return seen

    replayed = outcomes(first, interleave=False)
    assert outcomes(second, interleave=True) == replayed
    assert outcomes(other_seed, interleave=False) != replayed
    assert 40 <= sum(code is not None for code in replayed) <= 80  # about 30 % of 200
