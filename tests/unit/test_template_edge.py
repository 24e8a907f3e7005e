"""What the template puts in front of the functions (issue #28 and security review #24, items 5
and 9): CloudFront with the origin secret, the address the links use, the API's resource policy,
the cross-account role's external id, the optional WAF web ACL and the reserved concurrency."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pytest

from devstack.pool import PooledRunner
from devstack.template import SamTemplate
from support.cloudformation import cloudformation, cloudformation_with

# Managed-CachingDisabled and Managed-AllViewerExceptHostHeader (CloudFront's fixed ids).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ACCOUNT = "123456789012"
CRM_ACCOUNT = "210987654321"
EXTERNAL_ID = "crm-tenant-7f3a9c"


def deployed(**parameters: str) -> SamTemplate:
    """The template as a deployment with ``parameters`` (and no local defaults) resolves it."""
    return SamTemplate(parameter_overrides={"ResetPageUrl": "", **parameters})


def resolved(template: SamTemplate, node: Any) -> Any:
    """``node`` with the deployment's conditions and references applied (absent values dropped)."""
    value = template.resolve(node)
    if isinstance(value, list):
        return [resolved(template, v) for v in value if v is not None]
    if isinstance(value, dict):
        return {k: resolved(template, v) for k, v in value.items() if v is not None}
    return value


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ CloudFront and the origin secret


def test_cloudfront_is_on_by_default_and_a_parameter_turns_it_off() -> None:
    resources = cloudformation()["Resources"]
    assert resources["PortalDistribution"]["Condition"] == "CloudFrontOn"
    assert deployed().condition("CloudFrontOn")
    assert not deployed(CloudFrontEnabled="false").condition("CloudFrontOn")


def test_the_api_and_the_page_share_one_distribution_with_the_origin_secret_from_secrets_manager() -> None:
    t = deployed()
    config = t.resources["PortalDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert resolved(t, origin["DomainName"]) == "local-PortalApi.execute-api.eu-central-1.amazonaws.com"
    assert resolved(t, origin["OriginPath"]) == "/dev"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    [header] = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    # Both ways of naming the version are dynamic references: the value is never in the template.
    _, with_version, current = header["HeaderValue"]["Fn::If"]
    assert with_version["Fn::Sub"][0] == (
        "{{resolve:secretsmanager:${Secret}:SecretString:::${OriginVerifySecretVersion}}}"
    )
    assert current["Fn::Sub"][0] == "{{resolve:secretsmanager:${Secret}:SecretString}}"
    assert resolved(t, current["Fn::Sub"][1]["Secret"]) == t.physical_name("OriginVerifySecret")
    # The functions get the secret's id, and read its value at run time; no value in any environment.
    environment = t.function_environment()
    assert environment["ORIGIN_VERIFY_SECRET_ID"] == t.physical_name("OriginVerifySecret")
    assert "resolve:secretsmanager" not in json.dumps(t.doc["Globals"])
    named = deployed(OriginVerifySecretName="edge/origin-verify")
    assert named.function_environment()["ORIGIN_VERIFY_SECRET_ID"] == "edge/origin-verify"
    assert not named.condition("CreateOriginVerifySecret")


def test_caching_is_off_for_the_api_and_on_for_the_pages_static_assets() -> None:
    t = deployed()
    config = t.resources["PortalDistribution"]["Properties"]["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == CACHING_DISABLED
    assert default["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert set(default["AllowedMethods"]) >= {"GET", "POST", "PUT", "DELETE", "OPTIONS"}
    [assets] = config["CacheBehaviors"]
    assert assets["PathPattern"] == "/reset/assets/*"
    assert ("GET", "/reset/assets/{name}") in {(r.method, r.path) for r in t.api_routes()}
    policy = t.resources[assets["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    # The origin's Cache-Control decides (a year for content-hashed names, no-cache otherwise), and
    # nothing of the request makes another copy.
    assert (policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]) == (0, 0, 31536000)
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["HeadersConfig"]["HeaderBehavior"] == "none"
    assert key["CookiesConfig"]["CookieBehavior"] == "none"
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "none"


def test_links_derive_from_the_distribution_unless_a_domain_or_a_url_is_given() -> None:
    t = deployed()
    environment = t.function_environment()
    assert environment["RESET_PAGE_URL"] == ""
    parameter = t.resources["ResetPageUrlParameter"]
    assert environment["RESET_PAGE_URL_PARAMETER"] == resolved(t, parameter["Properties"]["Name"])
    assert t.condition(parameter["Condition"])
    value = parameter["Properties"]["Value"]["Fn::If"]
    assert value[0] == "CloudFrontOn" and value[1] == {
        "Fn::Sub": "https://${PortalDistribution.DomainName}/reset"
    }
    assert "execute-api" in value[2]["Fn::Sub"]  # without CloudFront, the API stage's page

    domain = deployed(
        DomainName="konto.kanzlei.example", CertificateArn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/1"
    )
    environment = domain.function_environment()
    assert (environment["RESET_PAGE_URL"], environment["RESET_PAGE_URL_PARAMETER"]) == (
        "https://konto.kanzlei.example/reset",
        "",
    )
    assert not domain.condition("DeriveResetPageUrl")
    config = resolved(domain, domain.resources["PortalDistribution"]["Properties"]["DistributionConfig"])
    assert config["Aliases"] == ["konto.kanzlei.example"]
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"

    given = deployed(ResetPageUrl="https://portal.kanzlei.example/passwort")
    assert given.function_environment()["RESET_PAGE_URL"] == "https://portal.kanzlei.example/passwort"


def test_a_custom_domain_needs_its_certificate_and_cloudfront() -> None:
    rule = cloudformation()["Rules"]["CustomDomainNeedsItsCertificateAndCloudFront"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}
    asserted = json.dumps(rule["Assertions"])
    assert '"CertificateArn"' in asserted and '"CloudFrontEnabled"' in asserted


def test_the_functions_read_only_their_secret_and_their_address() -> None:
    resources = cloudformation()["Resources"]
    [secret_grant] = resources["ReadOriginVerifySecretPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert secret_grant["Action"] == "secretsmanager:GetSecretValue"
    _, named, created = secret_grant["Resource"]["Fn::If"]
    assert named["Fn::Sub"].endswith(":secret:${OriginVerifySecretName}-??????")
    assert created == {"Ref": "OriginVerifySecret"}
    [address_grant] = resources["ReadResetPageUrlPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert address_grant["Action"] == "ssm:GetParameter"
    assert address_grant["Resource"]["Fn::Sub"].endswith(":parameter/${AWS::StackName}/reset-page-url")


# ------------------------------------------------------------------ who may provision (review #24, item 5)


def resource_policy(parameters: dict[str, str]) -> list[dict[str, Any]]:
    api = cloudformation_with(parameters)["Resources"]["PortalApi"]["Properties"]
    policy = api["Body"]["x-amazon-apigateway-policy"]
    return list(resolved(deployed(**parameters), policy["Statement"]))


def decide(statements: list[dict[str, Any]], principal: str | None, method: str, path: str) -> str:
    """API Gateway's verdict from the resource policy alone: an explicit deny wins over an allow;
    a negated condition on a key the request lacks holds (an anonymous caller has no ARN)."""
    resource = f"execute-api:/dev/{method}{path}"
    verdict = "implicit deny"
    for statement in statements:
        if not any(fnmatch.fnmatchcase(resource, r) for r in listed(statement["Resource"])):
            continue
        patterns = statement.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn")
        admitted = patterns is not None and principal is not None
        if admitted and any(fnmatch.fnmatchcase(str(principal), p) for p in listed(patterns)):
            continue
        if statement["Effect"] == "Deny":
            return "deny"
        verdict = "allow"
    return verdict


CROSS_ACCOUNT = {"ProvisioningCallerAccountId": CRM_ACCOUNT, "ProvisioningExternalId": EXTERNAL_ID}


def test_only_the_crms_role_may_call_the_provisioning_routes() -> None:
    """Before, any principal whose own policy granted execute-api (an administrator's role,
    another function) could provision, and erase, accounts."""
    t = deployed(**CROSS_ACCOUNT)
    path = resolved(t, t.resources["ProvisioningCallerRole"]["Properties"]["Path"])
    crm_role = f"arn:aws:iam::{ACCOUNT}:role{path}portal-ProvisioningCallerRole-1A2B3C"
    policy = resource_policy(CROSS_ACCOUNT)

    assert decide(policy, crm_role, "PUT", "/v1/admin/accounts/acc-1") == "allow"
    assert decide(policy, crm_role, "DELETE", "/v1/admin/accounts/acc-1") == "allow"
    for stranger in (
        f"arn:aws:iam::{ACCOUNT}:role/deploy-admin",
        f"arn:aws:iam::{CRM_ACCOUNT}:role/crm-backend",
    ):
        for method, admin_path in (("PUT", "/v1/admin/firms/f-1"), ("DELETE", "/v1/admin/accounts/acc-1")):
            assert decide(policy, stranger, method, admin_path) == "deny", (stranger, method)
    # Every other route stays open to anyone (each authorizes for itself).
    assert decide(policy, None, "POST", "/v1/sessions") == "allow"
    assert decide(policy, None, "GET", "/reset/assets/reset.js") == "allow"
    assert (
        decide(policy, f"arn:aws:iam::{ACCOUNT}:role/deploy-admin", "GET", "/v1/sessions/current") == "allow"
    )


def test_an_existing_crm_role_may_be_named_instead() -> None:
    named = {"ProvisioningCallerRoleArn": f"arn:aws:iam::{CRM_ACCOUNT}:role/crm-backend"}
    policy = resource_policy(named)

    assert (
        decide(policy, f"arn:aws:iam::{CRM_ACCOUNT}:role/crm-backend", "PUT", "/v1/admin/accounts/a")
        == "allow"
    )
    assert (
        decide(policy, f"arn:aws:iam::{CRM_ACCOUNT}:role/crm-reporting", "GET", "/v1/admin/accounts/a")
        == "deny"
    )
    # With no CRM named at all, nobody provisions.
    assert (
        decide(
            resource_policy({}), f"arn:aws:iam::{CRM_ACCOUNT}:role/crm-backend", "GET", "/v1/admin/accounts/a"
        )
        == "deny"
    )


def test_the_cross_account_role_is_assumed_only_with_the_crms_external_id() -> None:
    t = deployed(**CROSS_ACCOUNT)
    [trust] = resolved(t, t.resources["ProvisioningCallerRole"]["Properties"]["AssumeRolePolicyDocument"])[
        "Statement"
    ]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{CRM_ACCOUNT}:root"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    rule = cloudformation()["Rules"]["CrossAccountCallerNeedsExternalId"]
    assert rule["RuleCondition"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ProvisioningCallerAccountId"}, ""]}]
    }
    [assertion] = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ProvisioningExternalId"}, ""]}]}


# ------------------------------------------------------------------ WAF (review #24, item 9)

REGEX_EXCLUDED = re.compile(r"/v1/(admin|webhooks)/")


def web_acl_rules(t: SamTemplate) -> dict[str, dict[str, Any]]:
    rules = resolved(t, t.resources["PortalWebAcl"]["Properties"]["Rules"])
    return {rule["Name"]: rule for rule in rules}


def excluded_paths(statement: dict[str, Any]) -> re.Pattern[str]:
    """The path pattern a scope-down statement keeps out of the rule."""
    found = json.dumps(statement)
    [pattern] = set(re.findall(r'"RegexString": "([^"]+)"', found))
    return re.compile(pattern)


def test_there_is_no_web_acl_unless_the_deployment_asks_for_one() -> None:
    resources = cloudformation()["Resources"]
    assert resources["PortalWebAcl"]["Condition"] == "WafOn"
    assert resources["PortalWebAclAssociation"]["Condition"] == "WafOn"
    assert not deployed().condition("WafOn")
    assert deployed(WafEnabled="true").condition("WafOn")


def test_the_web_acl_limits_each_client_in_front_of_every_public_route() -> None:
    """Before, nothing but the stage's overall throttle stood between one client and the routes."""
    t = deployed(WafEnabled="true")
    association = resolved(t, t.resources["PortalWebAclAssociation"]["Properties"])
    assert (
        association["ResourceArn"] == "arn:aws:apigateway:eu-central-1::/restapis/local-PortalApi/stages/dev"
    )
    assert t.resources["PortalWebAcl"]["Properties"]["Scope"] == "REGIONAL"
    body = t.resources["PortalWebAcl"]["Properties"]["CustomResponseBodies"]["rate-limited"]["Content"]
    assert json.loads(body)["error"]["code"] == "rate_limited"

    rules = web_acl_rules(t)
    assert set(rules) == {"requests-per-viewer", "requests-per-ip"}
    viewer = rules["requests-per-viewer"]["Statement"]["RateBasedStatement"]
    assert viewer["AggregateKeyType"] == "FORWARDED_IP"
    assert viewer["ForwardedIPConfig"]["HeaderName"] == "X-Viewer-Ip"
    ip = rules["requests-per-ip"]["Statement"]["RateBasedStatement"]
    assert ip["AggregateKeyType"] == "IP"
    for rule in rules.values():
        statement = rule["Statement"]["RateBasedStatement"]
        assert statement["Limit"] == "1000" and statement["EvaluationWindowSec"] == 300
        block = rule["Action"]["Block"]["CustomResponse"]
        assert block["ResponseCode"] == 429 and block["ResponseHeaders"] == [
            {"Name": "Retry-After", "Value": "60"}
        ]
        excluded = excluded_paths(statement["ScopeDownStatement"])
        for path in (
            "/dev/v1/sessions",
            "/dev/v1/password-resets",
            "/dev/reset",
            "/dev/v1/accounts/a/password-reset",
        ):
            assert not excluded.search(path), path
        for path in ("/dev/v1/admin/accounts/a", "/dev/v1/webhooks/ses"):
            assert excluded.search(path), path
    # Behind CloudFront the API sees an edge: the stack's function hands WAF the viewer instead,
    # replacing whatever the viewer sent in that header; only requests without it count per IP.
    code = t.resources["ViewerIpFunction"]["Properties"]["FunctionCode"]
    assert "request.headers['x-viewer-ip'] = { value: event.viewer.ip }" in code
    assert "x-viewer-ip" in json.dumps(rules["requests-per-ip"]["Statement"])
    config = resolved(t, t.resources["PortalDistribution"]["Properties"]["DistributionConfig"])
    for behavior in (config["DefaultCacheBehavior"], *config["CacheBehaviors"]):
        [association_of_function] = behavior["FunctionAssociations"]
        assert association_of_function["EventType"] == "viewer-request"


def test_without_cloudfront_the_web_acl_counts_each_source_address() -> None:
    t = deployed(WafEnabled="true", CloudFrontEnabled="false")
    rules = web_acl_rules(t)
    assert set(rules) == {"requests-per-ip"}
    assert "x-viewer-ip" not in json.dumps(rules["requests-per-ip"])
    assert not t.condition("WafBehindCloudFront")


# ------------------------------------------------------------------ reserved concurrency


def test_reserved_concurrency_comes_from_the_profile_and_is_off_by_default() -> None:
    default = deployed()
    assert all(default.reserved_concurrency(f) is None for f in default.functions())

    mapping = default.doc["Mappings"]["ReservedConcurrency"]
    for profile, quota in (("standard", 1000), ("large", 3000)):
        t = deployed(ReservedConcurrencyProfile=profile)
        reserved = {f: t.reserved_concurrency(f) for f in t.functions()}
        assert reserved == mapping[profile]
        assert sum(int(n or 0) for n in reserved.values()) <= quota - 100  # Lambda keeps 100 unreserved
        # The local stack throttles where Lambda would.
        runner = PooledRunner(t, concurrency=10)
        assert runner.limit("AuthorizerFunction") == mapping[profile]["AuthorizerFunction"]
        # The queue's pollers never outnumber what the function may run.
        [queue] = t.queue_subscriptions()
        assert queue.maximum_concurrency == reserved[queue.function]


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_reserve_concurrency(environment: str) -> None:
    import tomllib

    from devstack.template import REPO_ROOT

    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert (
        "ReservedConcurrencyProfile=standard"
        in config[environment]["deploy"]["parameters"]["parameter_overrides"]
    )
