"""The SAM template transformed offline to CloudFormation (samtranslator), and reading its IAM
policies: shared by the template test and the IAM coverage test."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from functools import cache
from typing import Any

from support.environment import TEMPLATE


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@cache
def cloudformation() -> dict[str, Any]:
    return _transformed(())


def cloudformation_with(parameters: dict[str, str]) -> dict[str, Any]:
    """The template transformed as a deployment with ``parameters`` would have it (SAM resolves
    some parameters itself, e.g. in an API's resource policy)."""
    return _transformed(tuple(sorted(parameters.items())))


@cache
def _transformed(parameters: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    doc = copy.deepcopy(TEMPLATE.doc)
    for resource in doc["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://bucket/{props[key].strip('/')}.zip"
    values = {"AWS::Region": "eu-central-1", "AWS::AccountId": "123456789012", **dict(parameters)}
    return transform(doc, values, _NoManagedPolicies())


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}]+)\}", text)}
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def statements(function_id: str) -> list[dict[str, Any]]:
    """The function's role's statements: its inline policies, and the template's own managed
    policies it attaches (one attached under a condition counts, as where the condition holds)."""
    resources = cloudformation()["Resources"]
    role = resources[f"{function_id}Role"]["Properties"]
    found = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Fn::If" in arn:
            arn = arn["Fn::If"][1]
        name = arn.get("Ref") if isinstance(arn, dict) else None
        if name in resources and resources[name]["Type"] == "AWS::IAM::ManagedPolicy":
            found += resources[name]["Properties"]["PolicyDocument"]["Statement"]
    return found


def allows(function_id: str, action: str, table: str | None = None, index: str | None = None) -> bool:
    """Whether the function's own policies allow ``action`` (e.g. ``dynamodb:Query``) on the table
    or queue (a logical id) or one of the table's indexes; without one, on any resource."""
    for statement in statements(function_id):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            continue
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for entry in resources:
            if table is None:
                return True
            if table not in refs(entry):
                continue
            text = json.dumps(entry)
            if index is None and "/index/" not in text:
                return True
            if index is not None and ("/index/*" in text or f"/index/{index}" in text):
                return True
    return False
