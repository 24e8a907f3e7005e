"""The template wires SES events to the webhook, and never turns on the local-only certificate."""

from __future__ import annotations

from devstack.template import TEMPLATE_PATH, SamTemplate


def template() -> SamTemplate:
    return SamTemplate(name_prefix="test-")


def test_the_configuration_set_publishes_every_delivery_event_to_the_topic() -> None:
    """Every event type SES has for a configuration set but open and click, which would need a
    tracking pixel and rewritten links (the hosted page's verify tells whether a link was opened)."""
    t = template()
    [destination] = t.of_type("AWS::SES::ConfigurationSetEventDestination").values()
    props = destination["Properties"]

    assert props["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}
    spec = props["EventDestination"]
    assert spec["Enabled"] is True
    assert set(spec["MatchingEventTypes"]) == {
        "send",
        "delivery",
        "bounce",
        "complaint",
        "reject",
        "deliveryDelay",
        "renderingFailure",
        "subscription",
    }
    assert spec["SnsDestination"]["TopicARN"] == {"Ref": "SesEventsTopic"}


def test_ses_may_publish_to_the_topic_and_the_topic_posts_to_the_webhook() -> None:
    t = template()
    [policy] = t.of_type("AWS::SNS::TopicPolicy").values()
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert "AWS:SourceAccount" in statement["Condition"]["StringEquals"]

    [subscription] = t.of_type("AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert props["Protocol"] == "https"
    assert t.resolve(props["Endpoint"]).endswith("amazonaws.com/dev/v1/webhooks/ses")
    assert props["TopicArn"] == {"Ref": "SesEventsTopic"}


def test_the_function_accepts_exactly_the_templates_topic() -> None:
    env = template().function_environment("SesEventsFunction")
    assert env["SES_EVENTS_TOPIC_ARN"] == "arn:aws:sns:eu-central-1:123456789012:test-SesEventsTopic"


def test_the_routes_webhook_public_deliveries_behind_the_authorizer() -> None:
    routes = {(r.method, r.path): r for r in template().api_routes() if r.function == "SesEventsFunction"}
    assert routes[("POST", "/v1/webhooks/ses")].authorizer is None
    assert (
        routes[("GET", "/v1/accounts/{account_id}/password-reset/deliveries")].authorizer
        == "SessionAuthorizer"
    )


def test_the_deployed_template_never_trusts_a_local_certificate() -> None:
    assert "SNS_TRUSTED_CERT_PEM_PATH" not in TEMPLATE_PATH.read_text(encoding="utf-8")
    t = template()
    for function in t.functions():
        assert "SNS_TRUSTED_CERT_PEM_PATH" not in t.function_environment(function)


def test_the_topic_signs_with_sha256_and_sha1_is_refused_by_default() -> None:
    t = template()
    topic = t.resources["SesEventsTopic"]["Properties"]
    assert topic["SignatureVersion"] == "2"
    assert t.parameter("SnsAcceptSignatureV1") == "false"
    assert t.function_environment("SesEventsFunction")["SNS_ACCEPT_SIGNATURE_V1"] == "false"
