"""Reads ``template.yaml`` so that tests and the local stack build exactly what the template
describes: tables (keys, indexes, streams, TTL), function environments, API routes.

Only what those need is resolved: ``!Ref`` to parameters (their defaults, or overrides) and to
resources (a physical name made up here), ``!GetAtt`` to names. Anything else is left as is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


# Resource types whose physical name the template may set explicitly.
_NAME_PROPERTY = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Events::EventBus": "Name",
}

# What reads the template locally (the tests, the bench) serves the page at an example address,
# as a deployment with ResetPageUrl set does; ``make dev`` passes its own. Without it the
# functions would look the address up where the stack publishes it (SSM), which only a deployed
# stack does (tests/integration/test_published_reset_page.py plays that).
LOCAL_PARAMETERS = {"ResetPageUrl": "https://portal.example.com/reset"}
DEMO_DATA = REPO_ROOT / "local" / "demo_data.json"


def local_origin_secret() -> str:
    """The dev-only value of the origin-verification secret (``local/demo_data.json``), which
    the local stack and the tests keep in their Secrets Manager under the id the functions get."""
    return str(json.loads(DEMO_DATA.read_text(encoding="utf-8"))["origin_verify_secret"])


_PSEUDO_PARAMETERS = {
    "AWS::Region": "eu-central-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
}


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form intrinsic tags."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    # ``!Ref`` and ``!Condition`` are the two short forms whose long form has no ``Fn::``.
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class Route:
    function: str  # logical id
    method: str
    path: str  # API Gateway resource path, e.g. /v1/accounts/{account_id}/password-reset
    authorizer: str | None  # logical name of the authorizer, None for public routes


@dataclass(frozen=True)
class FailureDestination:
    """Where Lambda sends the record of a batch it gave up on (``DestinationConfig.OnFailure``)."""

    type: str  # "SQS" or "SNS"
    resource: str  # logical id of the queue or topic in this template


@dataclass(frozen=True)
class StreamSubscription:
    function: str
    table: str
    batch_size: int
    maximum_retry_attempts: int
    bisect_on_error: bool
    report_batch_item_failures: bool
    filter_patterns: tuple[str, ...]
    event: str = ""  # the event's name under the function's ``Events``
    starting_position: str = "TRIM_HORIZON"
    maximum_record_age_seconds: int = -1
    on_failure: FailureDestination | None = None
    enabled: bool = True


@dataclass(frozen=True)
class QueueSubscription:
    """A ``Type: SQS`` event: Lambda's SQS event source mapping for one function."""

    function: str
    queue: str  # logical id of the queue
    event: str = ""  # the event's name under the function's ``Events``
    batch_size: int = 10
    maximum_batching_window_s: int = 0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None  # ``ScalingConfig.MaximumConcurrency``
    filter_patterns: tuple[str, ...] = ()
    enabled: bool = True


class SamTemplate:
    def __init__(
        self,
        path: Path = TEMPLATE_PATH,
        *,
        name_prefix: str = "local-",
        parameter_overrides: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.doc = load_yaml(path)
        self.name_prefix = name_prefix
        self.parameter_overrides = {**LOCAL_PARAMETERS, **(parameter_overrides or {})}

    # ------------------------------------------------------------------ resolution
    @property
    def resources(self) -> dict[str, Any]:
        return self.doc.get("Resources", {})

    def parameter(self, name: str) -> str:
        if name in self.parameter_overrides:
            return str(self.parameter_overrides[name])
        spec = self.doc.get("Parameters", {}).get(name, {})
        return str(spec.get("Default", ""))

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SES::ConfigurationSet" and "Name" in props:
            return str(self.resolve(props["Name"]))
        explicit = _NAME_PROPERTY.get(resource["Type"])
        if explicit and explicit in props:
            return str(self.resolve(props[explicit]))
        return f"{self.name_prefix}{logical_id}"

    def ref_value(self, logical_id: str) -> str:
        """What ``!Ref`` gives: the physical name, or the ARN where CloudFormation gives one."""
        name = self.physical_name(logical_id)
        p = _PSEUDO_PARAMETERS
        if self.resources[logical_id]["Type"] == "AWS::SNS::Topic":
            return f"arn:{p['AWS::Partition']}:sns:{p['AWS::Region']}:{p['AWS::AccountId']}:{name}"
        if self.resources[logical_id]["Type"] == "AWS::SQS::Queue":  # a queue's Ref is its URL
            return f"https://sqs.{p['AWS::Region']}.{p['AWS::URLSuffix']}/{p['AWS::AccountId']}/{name}"
        return name

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg in self.doc.get("Parameters", {}):
                    return self.parameter(arg)
                if arg in self.resources:
                    return self.ref_value(arg)
                return _PSEUDO_PARAMETERS.get(arg, arg)
            if key == "Fn::Sub" and isinstance(arg, str):
                return re.sub(
                    r"\$\{([A-Za-z0-9:.]+)\}", lambda m: str(self.resolve({"Ref": m.group(1)})), arg
                )
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(a) for a in arg)
                return self.doc["Mappings"][mapping][top][second]
            if key == "Fn::GetAtt":
                return self.physical_name(arg[0])
            if key == "Fn::If":
                condition, when_true, when_false = arg
                chosen = when_true if self.condition(condition) else when_false
                return None if chosen == {"Ref": "AWS::NoValue"} else self.resolve(chosen)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def condition(self, name: str) -> bool:
        """A condition of the template's ``Conditions``, evaluated on the parameters."""
        return bool(self._evaluate(self.doc.get("Conditions", {})[name]))

    def _evaluate(self, expression: Any) -> Any:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, arg),) = expression.items()
            if key == "Fn::Equals":
                left, right = (self._evaluate(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._evaluate(arg[0])
            if key == "Fn::And":
                return all(self._evaluate(a) for a in arg)
            if key == "Fn::Or":
                return any(self._evaluate(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
        return self.resolve(expression)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == resource_type}

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::DynamoDB::Table")

    def create_table_kwargs(self, logical_id: str) -> dict[str, Any]:
        props = self.resolve(self.tables()[logical_id]["Properties"])
        kwargs: dict[str, Any] = {
            "TableName": self.physical_name(logical_id),
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": props["StreamSpecification"]["StreamViewType"],
            }
        return kwargs

    def ttl_attribute(self, logical_id: str) -> str | None:
        spec = self.tables()[logical_id]["Properties"].get("TimeToLiveSpecification")
        return spec["AttributeName"] if spec and spec.get("Enabled") else None

    # ------------------------------------------------------------------ functions
    def functions(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Serverless::Function")

    def function_dir(self, logical_id: str) -> Path:
        code_uri = self.functions()[logical_id]["Properties"]["CodeUri"]
        return (self.path.parent / code_uri).resolve()

    def handler(self, logical_id: str) -> str:
        props = self.functions()[logical_id]["Properties"]
        return props.get("Handler") or self.doc.get("Globals", {}).get("Function", {}).get("Handler", "")

    def function_setting(self, logical_id: str, name: str) -> Any:
        """A function property, else its ``Globals.Function`` value (None when neither sets it)."""
        props = self.functions()[logical_id].get("Properties") or {}
        value = props.get(name, self.doc.get("Globals", {}).get("Function", {}).get(name))
        return self.resolve(value)

    def function_timeout(self, logical_id: str) -> int:
        """Seconds; Lambda's default is 3."""
        return int(self.function_setting(logical_id, "Timeout") or 3)

    def reserved_concurrency(self, logical_id: str) -> int | None:
        """``ReservedConcurrentExecutions``: the most environments Lambda runs for the function."""
        value = self.function_setting(logical_id, "ReservedConcurrentExecutions")
        return None if value is None else int(value)

    def function_environment(self, logical_id: str | None = None) -> dict[str, str]:
        """The environment Lambda would give the function: Globals first, then its own."""
        env: dict[str, Any] = {}
        globals_env = self.doc.get("Globals", {}).get("Function", {}).get("Environment", {})
        env.update(globals_env.get("Variables", {}))
        if logical_id:
            own = self.functions()[logical_id]["Properties"].get("Environment", {})
            env.update(own.get("Variables", {}))
        return {k: str(self.resolve(v)) for k, v in env.items()}

    def api_routes(self) -> list[Route]:
        routes: list[Route] = []
        apis = self.of_type("AWS::Serverless::Api")
        for function_id, _, props in self.function_events("Api"):
            api_ref = (
                props.get("RestApiId", {}).get("Ref") if isinstance(props.get("RestApiId"), dict) else None
            )
            api = apis.get(api_ref or "", {}).get("Properties", {})
            default_auth = api.get("Auth", {}).get("DefaultAuthorizer")
            authorizer = props.get("Auth", {}).get("Authorizer", default_auth)
            routes.append(
                Route(
                    function=function_id,
                    method=props["Method"].upper(),
                    path=props["Path"],
                    authorizer=None if authorizer in (None, "NONE") else authorizer,
                )
            )
        return routes

    def authorizer_function(self, name: str) -> str:
        for api in self.of_type("AWS::Serverless::Api").values():
            spec = api["Properties"].get("Auth", {}).get("Authorizers", {}).get(name)
            if spec:
                # ``!GetAtt Fn.Arn``, or ``!Ref Fn.Alias`` (SAM's AutoPublishAlias): the function.
                return _referenced_resource(spec["FunctionArn"]).split(".", 1)[0]
        raise KeyError(name)

    def gateway_responses(self) -> dict[str, dict[str, Any]]:
        for api in self.of_type("AWS::Serverless::Api").values():
            return dict(api["Properties"].get("GatewayResponses") or {})
        return {}

    def binary_media_types(self) -> list[str]:
        """The API's ``BinaryMediaTypes`` (SAM writes ``/`` as ``~1``), Globals included."""
        found: list[str] = list(self.doc.get("Globals", {}).get("Api", {}).get("BinaryMediaTypes") or [])
        for api in self.of_type("AWS::Serverless::Api").values():
            found.extend(api["Properties"].get("BinaryMediaTypes") or [])
        return [str(self.resolve(t)).replace("~1", "/") for t in found]

    def authorizer_identity(self, name: str) -> dict[str, Any]:
        """The authorizer's ``Identity`` block: which request parts must be present before it runs."""
        for api in self.of_type("AWS::Serverless::Api").values():
            spec = api["Properties"].get("Auth", {}).get("Authorizers", {}).get(name)
            if spec:
                return dict(spec.get("Identity") or {})
        return {}

    def layer_dirs(self) -> list[Path]:
        """Source directories of the template's layers, as Lambda would put them on ``sys.path``."""
        dirs: list[Path] = []
        for layer in self.of_type("AWS::Serverless::LayerVersion").values():
            content = layer["Properties"].get("ContentUri")
            if isinstance(content, str) and not content.startswith("s3://"):
                base = (self.path.parent / content).resolve()
                dirs.append(base / "python" if (base / "python").is_dir() else base)
        return dirs

    def queues(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::SQS::Queue")

    def topics(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::SNS::Topic")

    def function_events(self, event_type: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(function id, event name, the event's properties) of every function event of
        ``event_type`` (``DynamoDB``, ``SQS``, ``Api``, ...)."""
        return [
            (function_id, event_name, event["Properties"])
            for function_id, function in self.functions().items()
            for event_name, event in (function["Properties"].get("Events") or {}).items()
            if event.get("Type") == event_type
        ]

    def stream_subscriptions(self) -> list[StreamSubscription]:
        subs: list[StreamSubscription] = []
        for function_id, event_name, props in self.function_events("DynamoDB"):
            table = props["Stream"]["Fn::GetAtt"][0]
            subs.append(
                StreamSubscription(
                    function=function_id,
                    table=table,
                    batch_size=int(props.get("BatchSize", 100)),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    filter_patterns=_filter_patterns(props),
                    event=event_name,
                    starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
                    maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
                    on_failure=_failure_destination(props),
                    enabled=bool(props.get("Enabled", True)),
                )
            )
        return subs

    def queue_subscriptions(self) -> list[QueueSubscription]:
        subs: list[QueueSubscription] = []
        for function_id, event_name, props in self.function_events("SQS"):
            maximum_concurrency = (self.resolve(props.get("ScalingConfig")) or {}).get("MaximumConcurrency")
            subs.append(
                QueueSubscription(
                    function=function_id,
                    queue=_referenced_resource(props["Queue"]),
                    event=event_name,
                    batch_size=int(self.resolve(props.get("BatchSize", 10))),
                    maximum_batching_window_s=int(
                        self.resolve(props.get("MaximumBatchingWindowInSeconds", 0))
                    ),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    maximum_concurrency=None
                    if maximum_concurrency is None
                    else int(self.resolve(maximum_concurrency)),
                    filter_patterns=_filter_patterns(props),
                    enabled=bool(self.resolve(props.get("Enabled", True))),
                )
            )
        return subs

    def event_buses(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Events::EventBus")

    def event_bus_arn(self, logical_id: str) -> str:
        p = _PSEUDO_PARAMETERS
        name = self.physical_name(logical_id)
        return f"arn:{p['AWS::Partition']}:events:{p['AWS::Region']}:{p['AWS::AccountId']}:event-bus/{name}"

    def queue_arn(self, logical_id: str) -> str:
        p = _PSEUDO_PARAMETERS
        name = self.physical_name(logical_id)
        return f"arn:{p['AWS::Partition']}:sqs:{p['AWS::Region']}:{p['AWS::AccountId']}:{name}"

    def queue_attributes(self, logical_id: str) -> dict[str, str]:
        """The SQS attributes ``CreateQueue`` takes, from the queue's properties; the redrive
        policy's ``deadLetterTargetArn`` (usually ``!GetAtt Dlq.Arn``) becomes the local ARN."""
        props = self.queues()[logical_id].get("Properties") or {}
        attributes: dict[str, str] = {}
        for name in _QUEUE_ATTRIBUTES:
            if name in props:
                value = self.resolve(props[name])
                attributes[name] = str(value).lower() if isinstance(value, bool) else str(value)
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = self.queue_arn(_referenced_resource(redrive["deadLetterTargetArn"]))
            receives = int(self.resolve(redrive["maxReceiveCount"]))
            policy = {"deadLetterTargetArn": target, "maxReceiveCount": receives}
            attributes["RedrivePolicy"] = json.dumps(policy)
        return attributes

    def dead_letter_queue(self, logical_id: str) -> str | None:
        """The logical id of the queue's dead-letter queue, if it has one."""
        redrive = (self.queues()[logical_id].get("Properties") or {}).get("RedrivePolicy")
        return _referenced_resource(redrive["deadLetterTargetArn"]) if redrive else None

    @cached_property
    def stage(self) -> str:
        return self.parameter("Stage")


# AWS::SQS::Queue properties that are CreateQueue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DelaySeconds",
    "FifoQueue",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)


def _referenced_resource(value: Any) -> str:
    """The logical id behind ``!GetAtt Resource.Attr`` or ``!Ref Resource``."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else str(target).split(".", 1)[0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    raise ValueError(f"expected a reference to a resource of the template, got {value!r}")


def _filter_patterns(props: dict[str, Any]) -> tuple[str, ...]:
    """An event source mapping's ``FilterCriteria`` patterns, each as JSON text."""
    return tuple(
        f["Pattern"] if isinstance(f["Pattern"], str) else json.dumps(f["Pattern"])
        for f in (props.get("FilterCriteria") or {}).get("Filters", [])
    )


def _failure_destination(props: dict[str, Any]) -> FailureDestination | None:
    on_failure = (props.get("DestinationConfig") or {}).get("OnFailure")
    if not on_failure:
        return None
    target = on_failure.get("Destination")
    if isinstance(target, dict) and "Fn::GetAtt" in target:
        logical_id = target["Fn::GetAtt"][0]
    elif isinstance(target, dict) and "Ref" in target:
        logical_id = target["Ref"]
    else:
        raise ValueError(f"OnFailure destination must reference a resource of the template: {target!r}")
    return FailureDestination(type=str(on_failure.get("Type", "SQS")).upper(), resource=str(logical_id))


def provision(
    template: SamTemplate,
    *,
    dynamodb: Any,
    sesv2: Any | None = None,
    sqs: Any | None = None,
    sns: Any | None = None,
    secretsmanager: Any | None = None,
    events: Any | None = None,
) -> None:
    """Create every table (with its TTL), the mail identity and configuration set, the queues,
    topics, event buses and their archives, and the origin secret, as the template describes them.
    Used by the tests (under moto) and by ``make dev``."""
    for logical_id in template.tables():
        dynamodb.create_table(**template.create_table_kwargs(logical_id))
        ttl = template.ttl_attribute(logical_id)
        if ttl:
            dynamodb.update_time_to_live(
                TableName=template.physical_name(logical_id),
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl},
            )
    if sesv2 is not None:
        env = template.function_environment()
        sesv2.create_email_identity(EmailIdentity=env["SENDER_ADDRESS"])
        for logical_id in template.of_type("AWS::SES::ConfigurationSet"):
            sesv2.create_configuration_set(ConfigurationSetName=template.physical_name(logical_id))
    if sqs is not None:
        provision_queues(template, sqs)
    if sns is not None:
        for logical_id in template.topics():
            sns.create_topic(Name=template.physical_name(logical_id))
    origin_secret = template.function_environment().get("ORIGIN_VERIFY_SECRET_ID")
    if secretsmanager is not None and origin_secret:
        secretsmanager.create_secret(Name=origin_secret, SecretString=local_origin_secret())
    if events is not None:
        provision_event_buses(template, events)


def provision_event_buses(template: SamTemplate, events: Any) -> None:
    """The template's event buses and their archives (an archive is a rule on its bus, so what
    it keeps is what the pattern matches). A bus policy names another AWS account, which the
    local stack has none of: it is left out."""
    for logical_id in template.event_buses():
        events.create_event_bus(Name=template.physical_name(logical_id))
    for logical_id, archive in template.of_type("AWS::Events::Archive").items():
        props = archive.get("Properties") or {}
        source = _referenced_resource(props["SourceArn"])
        pattern = props.get("EventPattern")
        events.create_archive(
            ArchiveName=template.physical_name(logical_id),
            EventSourceArn=template.event_bus_arn(source),
            **({"EventPattern": json.dumps(template.resolve(pattern))} if pattern else {}),
            RetentionDays=int(template.resolve(props.get("RetentionDays", 0))),
        )


def provision_queues(template: SamTemplate, sqs: Any) -> None:
    """Create the template's queues with their attributes; dead-letter queues first, because SQS
    refuses a redrive policy whose target does not exist yet."""
    created: set[str] = set()

    def create(logical_id: str) -> None:
        if logical_id in created:
            return
        created.add(logical_id)
        dead_letter = template.dead_letter_queue(logical_id)
        if dead_letter:
            create(dead_letter)
        sqs.create_queue(
            QueueName=template.physical_name(logical_id), Attributes=template.queue_attributes(logical_id)
        )

    for logical_id in template.queues():
        create(logical_id)
